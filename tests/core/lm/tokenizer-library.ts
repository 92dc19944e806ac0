// The reference for ByteLevelBpe: @huggingface/tokenizers built straight from a model folder's files, as
// ModelTokenizer did before it had its own encoder.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ModelTokenizer } from '../../../src/core/lm/tokenizer';

const require = createRequire(import.meta.url);
type TokenizerClass = typeof import('@huggingface/tokenizers').Tokenizer;
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: TokenizerClass };

export interface LibraryEncoder {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
}

export function libraryTokenizer(dir: string): LibraryEncoder {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // no tokenizer_config.json: the library's default settings
  }
  const inner = new Tokenizer(json, config);
  return {
    encode: (text, opts = {}) => inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids,
  };
}

/** Every text gives the same ids both ways, with and without special tokens; names the first text that differs. */
export function expectSameIds(ours: ModelTokenizer, library: LibraryEncoder, texts: readonly string[]): void {
  for (const addSpecialTokens of [false, true]) {
    for (const text of texts) {
      const got = ours.encode(text, { addSpecialTokens });
      const want = library.encode(text, { addSpecialTokens });
      if (got.length !== want.length || got.some((id, i) => id !== want[i]))
        expect({ text: JSON.stringify(text).slice(0, 200), ids: got }).toEqual({
          text: JSON.stringify(text).slice(0, 200),
          ids: want,
        });
    }
  }
}

/** mulberry32: a small seeded generator, so the random texts are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
