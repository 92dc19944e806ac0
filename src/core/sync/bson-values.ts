// BSON types as PyMongo gives them to lm-saes's values (Python int → int32 when it fits, else int64; float →
// double), since JavaScript has one number type; and ObjectIds derived from content, so an export is reproducible
// and a resumed sync writes the same ids it wrote before.
import { createHash } from 'node:crypto';
import { Double, Int32, Long, ObjectId } from 'bson';

/** A Python int as PyMongo stores it: int32 when it fits, else int64. */
export function pyInt(n: number): Int32 | Long {
  if (!Number.isSafeInteger(n)) throw new Error(`pyInt: ${n} is not an integer`);
  return n >= -0x80000000 && n <= 0x7fffffff ? new Int32(n) : Long.fromNumber(n);
}

/** A Python float: always a BSON double, also when its value is whole (2.0). */
export const pyFloat = (n: number): Double => new Double(n);

export const pyFloats = (values: readonly number[]): Double[] => values.map(pyFloat);

/** A 12-byte ObjectId from a hash of `parts`: the same record or content always gets the same id. */
export function derivedObjectId(...parts: (string | Uint8Array)[]): ObjectId {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    h.update(Buffer.from([0]));
  }
  return new ObjectId(new Uint8Array(h.digest().subarray(0, 12)));
}

/** A BSON date from a stored ISO-8601 time (ms precision, as PyMongo keeps a datetime). */
export function isoDate(iso: string, where: string): Date {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`${where}: stored time '${iso}' is not ISO-8601`);
  return d;
}
