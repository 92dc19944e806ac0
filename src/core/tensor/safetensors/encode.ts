// Turns caller data (typed arrays or plain arrays) into one tensor's little-endian bytes for a given dtype.
// Matching typed arrays are written as they are; anything else is converted element by element, with range checks.

import { INTEGER_RANGES, type SafetensorsDtype } from './dtypes';
import { toBf16Bits, toF16Bits } from './half-float';
import { littleEndianBytes } from './little-endian';
import { SafetensorsError } from './safetensors-error';

/**
 * What a tensor's data may be. For F16 and BF16 a Uint16Array holds raw bit patterns (as `readRaw`
 * returns them); any other numeric input is rounded to nearest even.
 */
export type TensorData =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Uint8ClampedArray
  | BigInt64Array
  | BigUint64Array
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[];

type Element = number | bigint | boolean;

export interface EncodeTarget {
  file: string;
  tensor: string;
}

/** Typed arrays whose memory already is the dtype's element layout. */
const AS_IS: Partial<Record<SafetensorsDtype, abstract new (...args: never[]) => ArrayBufferView>> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
};

function reject(target: EncodeTarget, dtype: SafetensorsDtype, index: number, value: Element, expected: string): never {
  throw new SafetensorsError(
    target.file,
    `tensor '${target.tensor}': element ${index} = ${String(value)} cannot be stored as ${dtype} (expected ${expected})`,
  );
}

/** The [min, max] of an integer dtype; the encoders call it only with integer dtypes. */
function integerRange(dtype: SafetensorsDtype): readonly [bigint, bigint] {
  const range = INTEGER_RANGES[dtype];
  if (!range) throw new Error(`safetensors: ${dtype} is not an integer dtype`);
  return range;
}

function asNumber(v: Element): number {
  return typeof v === 'number' ? v : Number(v);
}

function floats(values: ArrayLike<Element>, dtype: 'F64' | 'F32' | 'F16' | 'BF16'): Uint8Array {
  const n = values.length;
  if (dtype === 'F64') return littleEndianBytes(Float64Array.from({ length: n }, (_, i) => asNumber(values[i]!)));
  if (dtype === 'F32') return littleEndianBytes(Float32Array.from({ length: n }, (_, i) => asNumber(values[i]!)));
  const toBits = dtype === 'F16' ? toF16Bits : toBf16Bits;
  const bits = new Uint16Array(n);
  for (let i = 0; i < n; i++) bits[i] = toBits(asNumber(values[i]!));
  return littleEndianBytes(bits);
}

type NarrowIntegerArray = Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

function narrowIntegers(
  values: ArrayLike<Element>,
  dtype: SafetensorsDtype,
  out: NarrowIntegerArray,
  target: EncodeTarget,
): Uint8Array {
  const [lo, hi] = integerRange(dtype).map(Number) as [number, number];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!; // i < length
    const n = asNumber(v);
    if (!Number.isInteger(n) || n < lo || n > hi) reject(target, dtype, i, v, `an integer in [${lo}, ${hi}]`);
    out[i] = n;
  }
  return littleEndianBytes(out);
}

function wideIntegers(values: ArrayLike<Element>, dtype: 'I64' | 'U64', target: EncodeTarget): Uint8Array {
  const [lo, hi] = integerRange(dtype);
  const out = dtype === 'I64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!; // i < length
    const n = typeof v === 'bigint' ? v : Number.isInteger(asNumber(v)) ? BigInt(asNumber(v)) : undefined;
    if (n === undefined || n < lo || n > hi) reject(target, dtype, i, v, `an integer in [${lo}, ${hi}]`);
    out[i] = n;
  }
  return littleEndianBytes(out);
}

/** The little-endian bytes of `data` as `dtype`; the caller has checked that the element count matches the shape. */
export function encodeTensorData(dtype: SafetensorsDtype, data: TensorData, target: EncodeTarget): Uint8Array {
  const AsIs = AS_IS[dtype];
  if (AsIs && data instanceof AsIs) return littleEndianBytes(data as ArrayBufferView & { BYTES_PER_ELEMENT: number });
  const values: ArrayLike<Element> = data;
  const n = values.length;
  switch (dtype) {
    case 'F64':
    case 'F32':
    case 'F16':
    case 'BF16':
      return floats(values, dtype);
    case 'I64':
    case 'U64':
      return wideIntegers(values, dtype, target);
    case 'I32':
      return narrowIntegers(values, dtype, new Int32Array(n), target);
    case 'U32':
      return narrowIntegers(values, dtype, new Uint32Array(n), target);
    case 'I16':
      return narrowIntegers(values, dtype, new Int16Array(n), target);
    case 'U16':
      return narrowIntegers(values, dtype, new Uint16Array(n), target);
    case 'I8':
      return narrowIntegers(values, dtype, new Int8Array(n), target);
    case 'U8':
    case 'BOOL':
      return narrowIntegers(values, dtype, new Uint8Array(n), target);
  }
}
