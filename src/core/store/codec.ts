// How values are stored in columns: typed arrays as little-endian BLOBs, objects as JSON text, times as ISO-8601 UTC.
import { littleEndianBytes, viewLittleEndian } from '../tensor/safetensors/little-endian';

export const nowIso = (): string => new Date().toISOString();

/** The little-endian bytes of an int32 / float32 array, as a Buffer better-sqlite3 binds as a BLOB. */
export function arrayBlob(array: Int32Array | Float32Array): Buffer {
  const bytes = littleEndianBytes(array);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function blobBytes(blob: Uint8Array, width: number, where: string): Uint8Array {
  if (blob.byteLength % width !== 0)
    throw new Error(`${where}: a BLOB of ${blob.byteLength} bytes is not a whole number of ${width}-byte elements`);
  return new Uint8Array(blob); // an own, aligned copy (Buffer#slice would share, and may start at any offset)
}

export const int32FromBlob = (blob: Uint8Array, where: string): Int32Array =>
  viewLittleEndian(blobBytes(blob, 4, where), Int32Array);
export const float32FromBlob = (blob: Uint8Array, where: string): Float32Array =>
  viewLittleEndian(blobBytes(blob, 4, where), Float32Array);

export function parseJson<T>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${where}: stored JSON does not parse (${(e as Error).message})`);
  }
}

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** JSON for number-valued records, keeping NaN and ±Infinity (a diverging loss is worth seeing) as strings. */
export function numbersToJson(values: Readonly<Record<string, number>>): string {
  return JSON.stringify(values, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

export function numbersFromJson(text: string, where: string): Record<string, number> {
  const raw = parseJson<Record<string, number | string>>(text, where);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === 'string' ? (NON_FINITE[v] ?? Number.NaN) : v;
  return out;
}
