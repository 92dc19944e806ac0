// Reads a text file as UTF-8 (a BOM is kept), with a chosen handling of invalid bytes and of newlines.
import { readFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';
import { InputError } from '../../errors';

/**
 * `preserve`: the text as it is. `universal`: `\r\n` and lone `\r` become `\n`, as Python's text-mode
 * `open(path).read()` does; the pdlm reference data was read that way (see embedded-corpus.ts).
 */
export type NewlineMode = 'preserve' | 'universal';

/**
 * `error`: invalid UTF-8 is an InputError. `replace`: each maximal invalid subsequence becomes U+FFFD (WHATWG
 * decoding, the same as Python's `errors='replace'`).
 */
export type InvalidUtf8Mode = 'error' | 'replace';

export interface TextReading {
  newlines?: NewlineMode;
  invalidUtf8?: InvalidUtf8Mode;
}

export function readTextFile(path: string, reading: TextReading = {}): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const text = decodeUtf8(bytes, path, reading.invalidUtf8 ?? 'error');
  return (reading.newlines ?? 'preserve') === 'universal' ? text.replace(/\r\n?/g, '\n') : text;
}

export function decodeUtf8(bytes: Uint8Array, where: string, invalid: InvalidUtf8Mode = 'error'): string {
  try {
    return new TextDecoder('utf-8', { fatal: invalid === 'error', ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InputError(
      `${where}: not valid UTF-8 text, expected a UTF-8 encoded file (or read it with invalid bytes replaced)`,
    );
  }
}
