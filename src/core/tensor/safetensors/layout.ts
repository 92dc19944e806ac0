// Plans a safetensors file before any byte is written: validates the tensors, orders them like the reference
// writer (dtype rank descending, then name), and builds the 8-byte length prefix + space-padded JSON header.

import {
  DTYPE_BYTES,
  DTYPE_WRITE_RANK,
  SAFETENSORS_DTYPES,
  elementCount,
  isSafetensorsDtype,
  type SafetensorsDtype,
} from './dtypes';
import type { TensorData } from './encode';
import { METADATA_KEY } from './header';
import { SafetensorsError } from './safetensors-error';

export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: TensorData;
}

export interface PlannedTensor {
  name: string;
  tensor: TensorToWrite;
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsPlan {
  /** Length prefix and padded JSON header: everything before the data buffer. */
  head: Uint8Array;
  /** In data-buffer order. */
  tensors: PlannedTensor[];
  byteLength: number;
}

/** Code-point order, which is the byte order of the UTF-8 encodings (Rust's `str` ordering). */
function compareNames(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return ca[i]! - cb[i]!; // i is below both lengths
  }
  return ca.length - cb.length;
}

function checkTensor(name: string, t: TensorToWrite, file: string): number {
  const fail = (detail: string): never => {
    throw new SafetensorsError(file, `tensor '${name}': ${detail}`);
  };
  if (name === METADATA_KEY) fail(`the name ${METADATA_KEY} is reserved for the metadata`);
  if (!isSafetensorsDtype(t.dtype))
    fail(`unknown dtype ${JSON.stringify(t.dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    fail(`data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${count}`);
  }
  return count * DTYPE_BYTES[t.dtype];
}

export function planSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> | undefined,
  file: string,
): SafetensorsPlan {
  const entries = Object.entries(tensors).map(([name, tensor]) => ({
    name,
    tensor,
    byteLength: checkTensor(name, tensor, file),
  }));
  entries.sort(
    (a, b) => DTYPE_WRITE_RANK[b.tensor.dtype] - DTYPE_WRITE_RANK[a.tensor.dtype] || compareNames(a.name, b.name),
  );

  const fields: string[] = [];
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new SafetensorsError(file, `${METADATA_KEY}.${key} must be a string, got ${JSON.stringify(value)}`);
      }
    }
    fields.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  const planned = entries.map(({ name, tensor, byteLength }) => {
    const info = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + byteLength] };
    // Fields are joined by hand: JSON.stringify of one object would move integer-like names ("0") first.
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    const p: PlannedTensor = { name, tensor, byteOffset: offset, byteLength };
    offset += byteLength;
    return p;
  });

  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  // Pad with spaces to a multiple of 8 so the data buffer (and every 8-byte dtype in it) stays aligned.
  const headerByteLength = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerByteLength).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerByteLength), true);
  head.set(json, 8);
  return { head, tensors: planned, byteLength: head.length + offset };
}
