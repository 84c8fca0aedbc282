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
    default:
      throw new Error(`quantizing to type ${type} is not implemented`);
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
    default:
      throw new Error(`dequantizing type ${type} is not implemented`);
  }
}
