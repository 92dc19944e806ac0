// Keyed look-ups that must succeed: a missing key is a broken invariant, reported with what was looked up and
// where, rather than an `undefined` that surfaces later as a NaN or a failed kernel.

/** `record[key]`, or an error naming the key, the keys there are, and what the record is. */
export function entryOf<T>(record: Readonly<Record<string, T>>, key: string, what: string): T {
  const value = record[key];
  if (value === undefined)
    throw new Error(`${what}: no entry for ${key} (has ${Object.keys(record).join(', ') || 'none'})`);
  return value;
}
