// Shared helpers for the core/data tests: fixture paths, temp folders, collecting async iterables.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/data');
export const fixture = (name: string): string => join(FIXTURES, name);

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A fresh temp folder per call, removed after the test. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-data-'));
    made.push(dir);
    return dir;
  };
}

/** A toy tokenizer: one token per character (its code point), so expected streams are easy to write by hand. */
export const charEncoder = {
  encode: (text: string) => Array.from(text, (c) => c.codePointAt(0)!),
};
