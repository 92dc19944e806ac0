// `.npy` version 1.0 bytes exactly as `numpy.save` writes them (lm-saes stores every array of a feature analysis in
// GridFS this way): magic, version 1 0, uint16 LE header length, the header dict literal space-padded so that the
// data starts at a multiple of 64 bytes, a final newline, then the C-order little-endian data.
import { InputError } from '../errors';
import type { NumpyArray } from '../store/lm-saes-documents';

type NpyDtype = NumpyArray['dtype'];

const DESCR: Record<NpyDtype, string> = { float32: '<f4', int64: '<i8', int32: '<i4' };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy's `repr` of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function encodeNpy(array: NumpyArray): Uint8Array {
  let header = `{'descr': '${DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shapeRepr(array.shape)}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const dataBytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(10 + header.length + dataBytes.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(dataBytes, 10 + header.length); // typed arrays are little-endian on every platform Node runs on
  return out;
}

/** Reads `.npy` 1.0 bytes of one of our dtypes (C order); `where` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, where: string): NumpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new InputError(`${where}: not a .npy array (no \\x93NUMPY magic)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(8, true);
  const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((d) => DESCR[d] === descr);
  if (!dtype)
    throw new InputError(`${where}: .npy dtype '${descr}', expected one of ${Object.values(DESCR).join(', ')}`);
  if (/'fortran_order':\s*True/.test(header)) throw new InputError(`${where}: .npy in Fortran order, expected C order`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new InputError(`${where}: .npy header without a shape`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = dtype === 'int64' ? 8 : 4;
  const start = 10 + headerLength;
  if (bytes.length - start !== count * width)
    throw new InputError(
      `${where}: .npy of shape (${shape.join(', ')}) needs ${count * width} data bytes, has ${bytes.length - start}`,
    );
  const copy = bytes.slice(start).buffer; // own and aligned
  const data =
    dtype === 'float32' ? new Float32Array(copy) : dtype === 'int64' ? new BigInt64Array(copy) : new Int32Array(copy);
  return { dtype, shape, data };
}
