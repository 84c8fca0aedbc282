import { GgmlType } from './gguf-types.js';

/**
 * Reference conversions of F32 weights into other GGUF types (ggml's own formulas), so tests can build
 * F16, BF16 and Q8_0 copies of a model and check training on bases that stay in their quantized type.
 */
export function toF16(x: number): number {
  const f32 = new Float32Array([x]);
  const u = new Uint32Array(f32.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign | ((mant + 0x1000) >> 13);
  }
  const half = sign | (exp << 10) | (mant >> 13);
  // Round to nearest even.
  return (mant & 0x1fff) > 0x1000 || ((mant & 0x1fff) === 0x1000 && (half & 1)) ? half + 1 : half;
}

export function fromF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function quantize(type: GgmlType, values: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F16: {
      const out = new Uint16Array(values.length);
      values.forEach((v, i) => (out[i] = toF16(v)));
      return new Uint8Array(out.buffer);
    }
    case GgmlType.BF16: {
      const u = new Uint32Array(new Float32Array(values).buffer);
      const out = new Uint16Array(values.length);
      // Round to nearest even, as ggml_compute_fp32_to_bf16 does.
      u.forEach((bits, i) => (out[i] = (bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16));
      return new Uint8Array(out.buffer);
    }
    case GgmlType.Q8_0: {
      // Blocks of 32: an F16 scale d = max|x| / 127, then 32 int8 values round(x / d).
      if (values.length % 32 !== 0) throw new Error('Q8_0 needs rows of a multiple of 32');
      const out = new Uint8Array((values.length / 32) * 34);
      const view = new DataView(out.buffer);
      for (let b = 0; b < values.length / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        view.setUint16(b * 34, toF16(d), true);
        for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, Math.round(values[b * 32 + j]! * id));
      }
      return out;
    }
    case GgmlType.Q4_K:
      return quantizeQ4K(values);
    default:
      throw new Error(`quantizing to type ${type} is not implemented`);
  }
}

/** Q4_K's packing of eight 6-bit (scale, min) pairs into 12 bytes (ggml's get_scale_min_k4, inverted). */
function packScalesMins(sc: number[], mn: number[], out: Uint8Array, at: number): void {
  for (let j = 0; j < 4; j++) {
    out[at + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
    out[at + j + 4] = (mn[j]! & 63) | ((mn[j + 4]! >> 4) << 6);
    out[at + j + 8] = (sc[j + 4]! & 15) | ((mn[j + 4]! & 15) << 4);
  }
}

function scaleMin(scales: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [scales[at + j]! & 63, scales[at + j + 4]! & 63];
  return [(scales[at + j + 4]! & 0xf) | ((scales[at + j - 4]! >> 6) << 4), (scales[at + j + 4]! >> 4) | ((scales[at + j]! >> 6) << 4)];
}

/**
 * Q4_K super-blocks of 256: F16 d and dmin, eight 6-bit sub-block scales and mins, 4-bit quants;
 * x ≈ d·sc·q − dmin·m. A plain min/max fit per sub-block (ggml searches harder; the layout is what matters).
 */
function quantizeQ4K(values: Float32Array): Uint8Array {
  if (values.length % 256 !== 0) throw new Error('Q4_K needs rows of a multiple of 256');
  const out = new Uint8Array((values.length / 256) * 144);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / 256; b++) {
    const x = values.subarray(b * 256, (b + 1) * 256);
    const scales: number[] = [];
    const mins: number[] = [];
    for (let j = 0; j < 8; j++) {
      const sub = x.subarray(j * 32, (j + 1) * 32);
      const lo = Math.min(0, ...sub);
      const hi = Math.max(...sub);
      scales.push((hi - lo) / 15);
      mins.push(-lo);
    }
    const d = Math.max(...scales) / 63 || 0;
    const dmin = Math.max(...mins) / 63 || 0;
    const dh = fromF16(toF16(d));
    const dminh = fromF16(toF16(dmin));
    const sc = scales.map((s) => (dh ? Math.min(63, Math.round(s / dh)) : 0));
    const mn = mins.map((m) => (dminh ? Math.min(63, Math.round(m / dminh)) : 0));
    const base = b * 144;
    view.setUint16(base, toF16(d), true);
    view.setUint16(base + 2, toF16(dmin), true);
    packScalesMins(sc, mn, out, base + 4);
    for (let pair = 0; pair < 4; pair++) {
      for (let l = 0; l < 32; l++) {
        const q = (j: number): number => {
          const step = dh * sc[j]!;
          return step ? Math.max(0, Math.min(15, Math.round((x[j * 32 + l]! + dminh * mn[j]!) / step))) : 0;
        };
        out[base + 16 + pair * 32 + l] = q(2 * pair) | (q(2 * pair + 1) << 4);
      }
    }
  }
  return out;
}

function dequantizeQ4K(data: Uint8Array, n: number, out: Float32Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let b = 0; b < n / 256; b++) {
    const base = b * 144;
    const d = fromF16(view.getUint16(base, true));
    const dmin = fromF16(view.getUint16(base + 2, true));
    for (let pair = 0; pair < 4; pair++) {
      const [sc1, m1] = scaleMin(data, base + 4, 2 * pair);
      const [sc2, m2] = scaleMin(data, base + 4, 2 * pair + 1);
      for (let l = 0; l < 32; l++) {
        const q = data[base + 16 + pair * 32 + l]!;
        out[b * 256 + pair * 64 + l] = d * sc1 * (q & 0xf) - dmin * m1;
        out[b * 256 + pair * 64 + 32 + l] = d * sc2 * (q >> 4) - dmin * m2;
      }
    }
  }
}

/** The F32 values a quantized tensor stands for (ggml's dequantization). */
export function dequantize(type: GgmlType, data: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case GgmlType.F32:
      return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + n * 4));
    case GgmlType.F16:
      for (let i = 0; i < n; i++) out[i] = fromF16(view.getUint16(i * 2, true));
      return out;
    case GgmlType.BF16: {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = view.getUint16(i * 2, true) << 16;
        out[i] = f[0]!;
      }
      return out;
    }
    case GgmlType.Q8_0:
      for (let b = 0; b < n / 32; b++) {
        const d = fromF16(view.getUint16(b * 34, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(b * 34 + 2 + j);
      }
      return out;
    case GgmlType.Q4_K:
      dequantizeQ4K(data, n, out);
      return out;
    default:
      throw new Error(`dequantizing type ${type} is not implemented`);
  }
}
