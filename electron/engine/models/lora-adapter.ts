import { DocTuneError } from '../errors.js';
import { metaString, type GgufFile } from './gguf/gguf-reader.js';
import { GgmlType, GgufValueType, type GgufValue } from './gguf/gguf-types.js';
import { gguf, writeGguf } from './gguf/gguf-writer.js';

/**
 * llama.cpp's LoRA adapter GGUF: general.type="adapter", general.architecture=<base arch>,
 * adapter.type="lora", adapter.lora.alpha (FLOAT32); per target `<base>.lora_a` ne=[n_in, r] and
 * `<base>.lora_b` ne=[r, n_out]; llama.cpp applies W' = W + scale·(alpha/r)·B·A.
 */
export interface LoraPair {
  /** Base tensor name, e.g. "blk.0.attn_q.weight". */
  target: string;
  /** A, row-major [r][n_in] (ggml ne=[n_in, r]). */
  a: Float32Array;
  /** B, row-major [n_out][r] (ggml ne=[r, n_out]). */
  b: Float32Array;
}

export interface LoraAdapter {
  rank: number;
  alpha: number;
  pairs: LoraPair[];
}

/** A LoRA target's input and output widths, from the base model's tensor directory. */
export function targetShape(base: GgufFile, target: string): { nIn: number; nOut: number } {
  const t = base.tensors.find((x) => x.name === target);
  if (!t) throw new DocTuneError('MODEL', `base model has no tensor "${target}"`, { path: base.path });
  if (t.dims.length !== 2) throw new DocTuneError('MODEL', `"${target}" is not a matrix`, { path: base.path });
  if (target.startsWith('token_embd')) throw new DocTuneError('MODEL', 'LoRA on token_embd is not supported', { path: base.path });
  return { nIn: t.dims[0]!, nOut: t.dims[1]! };
}

/** Write an adapter for `base`, each pair's shapes checked against the base tensor it adapts. */
export async function writeLoraAdapter(path: string, base: GgufFile, adapter: LoraAdapter): Promise<void> {
  const arch = metaString(base, 'general.architecture');
  if (!arch) throw new DocTuneError('MODEL', 'base model has no general.architecture', { path: base.path });
  const r = adapter.rank;
  const tensors = adapter.pairs.flatMap((p) => {
    const { nIn, nOut } = targetShape(base, p.target);
    if (p.a.length !== r * nIn || p.b.length !== nOut * r) {
      throw new DocTuneError('MODEL', `LoRA pair for "${p.target}" has the wrong size for rank ${r} and shape [${nIn}, ${nOut}]`);
    }
    const stem = p.target;
    return [
      { name: `${stem}.lora_a`, dims: [nIn, r], type: GgmlType.F32, data: new Uint8Array(p.a.buffer, p.a.byteOffset, p.a.byteLength) },
      { name: `${stem}.lora_b`, dims: [r, nOut], type: GgmlType.F32, data: new Uint8Array(p.b.buffer, p.b.byteOffset, p.b.byteLength) },
    ];
  });
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(arch)],
    ['general.type', gguf.str('adapter')],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(adapter.alpha)],
  ];
  await writeGguf(path, { metadata, tensors });
}

/**
 * Check an adapter against its base before llama.cpp loads it: a KV of the wrong type makes llama.cpp abort
 * the whole process, and its other refusals reach the user only as "Failed to initialize LoRA adapter".
 */
export function validateLoraAdapter(adapter: GgufFile, base: GgufFile): void {
  const problems: string[] = [];
  const expectString = (key: string, want?: string): void => {
    const v = adapter.metadata.get(key);
    if (!v) problems.push(`missing ${key}`);
    else if (v.type !== GgufValueType.STRING) problems.push(`${key} must be a string (it is value type ${v.type})`);
    else if (want !== undefined && v.value !== want) problems.push(`${key} is "${String(v.value)}", expected "${want}"`);
  };
  expectString('general.type', 'adapter');
  expectString('adapter.type', 'lora');
  expectString('general.architecture', metaString(base, 'general.architecture'));
  const alpha = adapter.metadata.get('adapter.lora.alpha');
  if (alpha && alpha.type !== GgufValueType.FLOAT32) problems.push(`adapter.lora.alpha must be FLOAT32 (it is value type ${alpha.type})`);

  const baseTensors = new Map(base.tensors.map((t) => [t.name, t]));
  const pairs = new Map<string, { a?: number[]; b?: number[] }>();
  for (const t of adapter.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name);
    if (!m) {
      problems.push(`unexpected tensor "${t.name}"`);
      continue;
    }
    if (t.type !== GgmlType.F32 && t.type !== GgmlType.F16 && t.type !== GgmlType.BF16) problems.push(`"${t.name}" has type ${t.type}; LoRA tensors must be F32, F16 or BF16`);
    const entry = pairs.get(m[1]!) ?? {};
    entry[m[2] as 'a' | 'b'] = t.dims;
    pairs.set(m[1]!, entry);
  }
  for (const [target, { a, b }] of pairs) {
    const baseT = baseTensors.get(target);
    if (!baseT) problems.push(`"${target}" is not a tensor of the base model`);
    else if (!a || !b) problems.push(`"${target}" has only half of its LoRA pair`);
    else if (a.length !== 2 || b.length !== 2 || a[1] !== b[0] || a[0] !== baseT.dims[0] || b[1] !== baseT.dims[1]) {
      problems.push(`"${target}" LoRA shapes a=[${a.join(', ')}] b=[${b.join(', ')}] do not fit the base [${baseT.dims.join(', ')}]`);
    }
  }
  if (pairs.size === 0) problems.push('no LoRA tensors');
  if (problems.length) {
    throw new DocTuneError('MODEL', `adapter does not fit ${base.path}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`, { path: adapter.path });
  }
}

/** W' = W + scale·B·A for an F32 base matrix stored row-major [n_out][n_in]; the merge llama.cpp computes. */
export function mergeLoraPair(w: Float32Array, pair: LoraPair, nIn: number, nOut: number, rank: number, scale: number): Float32Array {
  const out = new Float32Array(w);
  for (let o = 0; o < nOut; o++) {
    for (let k = 0; k < rank; k++) {
      const bk = pair.b[o * rank + k]! * scale;
      if (bk === 0) continue;
      for (let i = 0; i < nIn; i++) out[o * nIn + i]! += bk * pair.a[k * nIn + i]!;
    }
  }
  return out;
}
