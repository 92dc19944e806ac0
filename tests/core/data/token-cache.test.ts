import { cpSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { bundledModelsDir } from '../../../src/core/resources/resource-dir';
import { openDataset } from '../../../src/core/data/sources/open-dataset';
import { cachedTokenStream } from '../../../src/core/data/token-cache';
import { fixture, useTempDirs } from './helpers';

const tokenizer = ModelTokenizer.load(join(bundledModelsDir(), 'pdlm-4l-256'));

describe('token stream cache', () => {
  const tempDir = useTempDirs();

  it('tokenizes once, then reads the stream back; file changes, EOS id and settings are part of the key', async () => {
    const data = join(tempDir(), 'docs');
    cpSync(fixture('txt-folder'), data, { recursive: true });
    const cacheDir = join(tempDir(), 'tokens');
    const opts = { cacheDir, eosId: 0 };

    const first = await cachedTokenStream(openDataset(data), tokenizer, opts);
    expect(first.fromCache).toBe(false);
    const expected = ['a.txt', 'b.txt', 'c.txt'].flatMap((f) => [
      ...tokenizer.encode(readFileSync(join(data, f), 'utf8'), { addSpecialTokens: false }),
      0,
    ]);
    expect([...first.tokens]).toEqual(expected);
    expect(first.meta).toMatchObject({ kind: 'txt-folder', tokens: expected.length, documents: 3, eosId: 0 });
    expect(readdirSync(cacheDir).sort()).toEqual([`${first.meta.key}.json`, `${first.meta.key}.safetensors`]); // no temp files left

    const again = await cachedTokenStream(openDataset(data), tokenizer, opts);
    expect(again.fromCache).toBe(true);
    expect(again.tokens).toEqual(first.tokens);
    expect(again.documentStarts).toEqual(first.documentStarts);

    expect((await cachedTokenStream(openDataset(data), tokenizer, { cacheDir, eosId: 5 })).fromCache).toBe(false);
    expect((await cachedTokenStream(openDataset(data, { newlines: 'universal' }), tokenizer, opts)).fromCache).toBe(
      false,
    );

    writeFileSync(join(data, 'b.txt'), 'Changed text.\n');
    const changed = await cachedTokenStream(openDataset(data), tokenizer, opts);
    expect(changed.fromCache).toBe(false);
    expect(changed.meta.key).not.toBe(first.meta.key);

    // same size and content but a new mtime: treated as changed (cheap key, no content hashing)
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(data, 'c.txt'), later, later);
    expect((await cachedTokenStream(openDataset(data), tokenizer, opts)).fromCache).toBe(false);
  });

  it('rebuilds a damaged entry', async () => {
    const cacheDir = tempDir();
    const source = openDataset(fixture('docs.jsonl'));
    const first = await cachedTokenStream(source, tokenizer, { cacheDir, eosId: 0 });
    writeFileSync(join(cacheDir, `${first.meta.key}.safetensors`), 'garbage');
    const rebuilt = await cachedTokenStream(source, tokenizer, { cacheDir, eosId: 0 });
    expect(rebuilt.fromCache).toBe(false);
    expect(rebuilt.tokens).toEqual(first.tokens);
    expect((await cachedTokenStream(source, tokenizer, { cacheDir, eosId: 0 })).fromCache).toBe(true);
  });
});
