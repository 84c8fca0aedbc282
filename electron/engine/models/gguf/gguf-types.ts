/** GGUF value types (gguf.h) and the ggml tensor types a GGUF may hold, with their block layouts. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { type: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar }
  | { type: GgufValueType.ARRAY; itemType: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar[] };

export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Elements per block and bytes per block (ggml.c's type_traits). */
export const GGML_BLOCK: Partial<Record<GgmlType, { elements: number; bytes: number }>> = {
  [GgmlType.F32]: { elements: 1, bytes: 4 },
  [GgmlType.F16]: { elements: 1, bytes: 2 },
  [GgmlType.BF16]: { elements: 1, bytes: 2 },
  [GgmlType.F64]: { elements: 1, bytes: 8 },
  [GgmlType.I8]: { elements: 1, bytes: 1 },
  [GgmlType.I16]: { elements: 1, bytes: 2 },
  [GgmlType.I32]: { elements: 1, bytes: 4 },
  [GgmlType.I64]: { elements: 1, bytes: 8 },
  [GgmlType.Q4_0]: { elements: 32, bytes: 18 },
  [GgmlType.Q4_1]: { elements: 32, bytes: 20 },
  [GgmlType.Q5_0]: { elements: 32, bytes: 22 },
  [GgmlType.Q5_1]: { elements: 32, bytes: 24 },
  [GgmlType.Q8_0]: { elements: 32, bytes: 34 },
  [GgmlType.Q8_1]: { elements: 32, bytes: 36 },
  [GgmlType.Q2_K]: { elements: 256, bytes: 84 },
  [GgmlType.Q3_K]: { elements: 256, bytes: 110 },
  [GgmlType.Q4_K]: { elements: 256, bytes: 144 },
  [GgmlType.Q5_K]: { elements: 256, bytes: 176 },
  [GgmlType.Q6_K]: { elements: 256, bytes: 210 },
  [GgmlType.Q8_K]: { elements: 256, bytes: 292 },
  [GgmlType.IQ2_XXS]: { elements: 256, bytes: 66 },
  [GgmlType.IQ2_XS]: { elements: 256, bytes: 74 },
  [GgmlType.IQ3_XXS]: { elements: 256, bytes: 98 },
  [GgmlType.IQ1_S]: { elements: 256, bytes: 50 },
  [GgmlType.IQ4_NL]: { elements: 32, bytes: 18 },
  [GgmlType.IQ3_S]: { elements: 256, bytes: 110 },
  [GgmlType.IQ2_S]: { elements: 256, bytes: 82 },
  [GgmlType.IQ4_XS]: { elements: 256, bytes: 136 },
  [GgmlType.IQ1_M]: { elements: 256, bytes: 56 },
  [GgmlType.TQ1_0]: { elements: 256, bytes: 54 },
  [GgmlType.TQ2_0]: { elements: 256, bytes: 66 },
  [GgmlType.MXFP4]: { elements: 32, bytes: 17 },
};

/** Bytes a tensor of this type and shape occupies; null for a type we do not know or a misaligned row. */
export function tensorBytes(type: GgmlType, dims: readonly number[]): number | null {
  const block = GGML_BLOCK[type];
  if (!block) return null;
  const rowElements = dims[0] ?? 1;
  if (rowElements % block.elements !== 0) return null;
  let rows = 1;
  for (const d of dims.slice(1)) rows *= d;
  return (rowElements / block.elements) * block.bytes * rows;
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
