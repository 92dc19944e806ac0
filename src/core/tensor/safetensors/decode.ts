// Upcasts one tensor's little-endian bytes to the Float32Array / Int32Array the rest of core computes with.
// The input bytes must be freshly read (owned, 8-byte aligned): F32 and I32 come back as views of them.

import { bf16ToFloat32Array, f16ToFloat32Array } from './half-float';
import { viewLittleEndian } from './little-endian';
import { SafetensorsError } from './safetensors-error';
import { isFloatDtype, type IntegerDtype, type SafetensorsDtype } from './dtypes';

/** Where the bytes came from, for error messages. */
export interface DecodeSource {
  file: string;
  tensor: string;
}

/**
 * Any dtype to f32: F16/BF16 exactly, F64 and wide integers rounded to nearest (64-bit integers
 * beyond 2^53 go through a double first, so they may land one f32 ulp off).
 */
export function decodeFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  switch (dtype) {
    case 'F32':
      return viewLittleEndian(bytes, Float32Array);
    case 'F64':
      return Float32Array.from(viewLittleEndian(bytes, Float64Array));
    case 'F16':
      return f16ToFloat32Array(viewLittleEndian(bytes, Uint16Array));
    case 'BF16':
      return bf16ToFloat32Array(viewLittleEndian(bytes, Uint16Array));
    case 'I64':
      return Float32Array.from(viewLittleEndian(bytes, BigInt64Array), Number);
    case 'U64':
      return Float32Array.from(viewLittleEndian(bytes, BigUint64Array), Number);
    case 'I32':
      return Float32Array.from(viewLittleEndian(bytes, Int32Array));
    case 'U32':
      return Float32Array.from(viewLittleEndian(bytes, Uint32Array));
    case 'I16':
      return Float32Array.from(viewLittleEndian(bytes, Int16Array));
    case 'U16':
      return Float32Array.from(viewLittleEndian(bytes, Uint16Array));
    case 'I8':
      return Float32Array.from(viewLittleEndian(bytes, Int8Array));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function outOfRange(source: DecodeSource, dtype: SafetensorsDtype, index: number, value: number | bigint): never {
  throw new SafetensorsError(
    source.file,
    `tensor '${source.tensor}' (${dtype}): element ${index} = ${value} is outside the int32 range [${INT32_MIN}, ${INT32_MAX}]`,
  );
}

function checkedInt32(
  values: ArrayLike<number> | ArrayLike<bigint>,
  source: DecodeSource,
  dtype: SafetensorsDtype,
): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!; // i < length
    if (v < INT32_MIN || v > INT32_MAX) outOfRange(source, dtype, i, v);
    out[i] = Number(v);
  }
  return out;
}

/** Float dtypes cannot be read as i32: checked before any byte is read. */
export function assertInt32Readable(dtype: SafetensorsDtype, source: DecodeSource): asserts dtype is IntegerDtype {
  if (isFloatDtype(dtype)) {
    throw new SafetensorsError(
      source.file,
      `tensor '${source.tensor}' has dtype ${dtype}; readInt32 expects an integer or BOOL dtype (use readFloat32)`,
    );
  }
}

/** Integer and BOOL dtypes to i32; a value outside the int32 range is an error. */
export function decodeInt32(bytes: Uint8Array, dtype: IntegerDtype, source: DecodeSource): Int32Array {
  switch (dtype) {
    case 'I32':
      return viewLittleEndian(bytes, Int32Array);
    case 'I64':
      return checkedInt32(viewLittleEndian(bytes, BigInt64Array), source, dtype);
    case 'U64':
      return checkedInt32(viewLittleEndian(bytes, BigUint64Array), source, dtype);
    case 'U32':
      return checkedInt32(viewLittleEndian(bytes, Uint32Array), source, dtype);
    case 'I16':
      return Int32Array.from(viewLittleEndian(bytes, Int16Array));
    case 'U16':
      return Int32Array.from(viewLittleEndian(bytes, Uint16Array));
    case 'I8':
      return Int32Array.from(viewLittleEndian(bytes, Int8Array));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes);
  }
}
