// The safetensors element types we support: names, byte sizes, and the order the reference writer lays them out in.
// Names and sizes follow the Hugging Face format spec (huggingface/safetensors, `Dtype` in tensor.rs).

export const SAFETENSORS_DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
] as const;

export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/**
 * Position of each dtype in the Rust `Dtype` enum ("MUST be in increasing alignment order").
 * The reference writer sorts tensors by this rank, descending, then by name; we do the same so
 * that our files are byte-identical to the ones Python writes.
 */
export const DTYPE_WRITE_RANK: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  U16: 4,
  F16: 5,
  BF16: 6,
  I32: 7,
  U32: 8,
  F32: 9,
  F64: 10,
  I64: 11,
  U64: 12,
};

export type FloatDtype = 'F64' | 'F32' | 'F16' | 'BF16';
/** Integer dtypes, BOOL included (stored as one byte, 0 or 1). */
export type IntegerDtype = Exclude<SafetensorsDtype, FloatDtype>;

export function isFloatDtype(dtype: SafetensorsDtype): dtype is FloatDtype {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value);
}

/** Integer range of each integer dtype, for range checks when converting between them. */
export const INTEGER_RANGES: Readonly<Partial<Record<SafetensorsDtype, readonly [bigint, bigint]>>> = {
  I64: [-(2n ** 63n), 2n ** 63n - 1n],
  I32: [-(2n ** 31n), 2n ** 31n - 1n],
  I16: [-(2n ** 15n), 2n ** 15n - 1n],
  I8: [-128n, 127n],
  U64: [0n, 2n ** 64n - 1n],
  U32: [0n, 2n ** 32n - 1n],
  U16: [0n, 65535n],
  U8: [0n, 255n],
  BOOL: [0n, 1n],
};

/** Number of elements of a shape; [] is a scalar with one element. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}
