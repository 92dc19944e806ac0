import { describe, expect, it } from 'vitest';
import { contextWindows, gatherWindows, windowCount } from '../../../src/core/data/windows';
import { tokenizeDocuments } from '../../../src/core/data/token-stream';
import { charEncoder } from './helpers';

async function* docs(...texts: string[]) {
  for (const [i, text] of texts.entries()) yield { id: String(i), text };
}

describe('token stream', () => {
  it('is each document encoded without special tokens, then EOS', async () => {
    const calls: unknown[] = [];
    const encoder = {
      encode: (text: string, opts: { addSpecialTokens?: boolean }) => (calls.push(opts), charEncoder.encode(text)),
    };
    const stream = await tokenizeDocuments(docs('ab', '', 'cde'), encoder, { eosId: 0 });
    expect([...stream.tokens]).toEqual([97, 98, 0, 0, 99, 100, 101, 0]);
    expect([...stream.documentStarts]).toEqual([0, 3, 4]);
    expect(calls).toEqual([{ addSpecialTokens: false }, { addSpecialTokens: false }, { addSpecialTokens: false }]);
  });

  it('reports progress per document', async () => {
    const progress: unknown[] = [];
    await tokenizeDocuments(docs('ab', 'c'), charEncoder, { eosId: 9, onProgress: (p) => progress.push({ ...p }) });
    expect(progress).toEqual([
      { documents: 1, tokens: 3, chars: 2 },
      { documents: 2, tokens: 5, chars: 3 },
    ]);
  });
});

describe('context windows', () => {
  // stream of 11 tokens, S = 4: windows take 3 stream tokens each after the BOS; 11 = 3*3 + 2, so 3 windows.
  const stream = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);

  it('are [BOS] + stream[(S-1)i : (S-1)(i+1)], complete ones only', () => {
    expect(windowCount(stream.length, 4)).toBe(3);
    const w = contextWindows(stream, { seqLen: 4, bosId: 1 });
    expect(w.batch).toBe(3);
    expect(w.seq).toBe(4);
    expect([...w.ids]).toEqual([1, 10, 11, 12, 1, 13, 14, 15, 1, 16, 17, 18]);
  });

  it('work for another S and BOS id', () => {
    const w = contextWindows(stream, { seqLen: 6, bosId: 7 });
    expect([...w.ids]).toEqual([7, 10, 11, 12, 13, 14, 7, 15, 16, 17, 18, 19]);
  });

  it('gather chosen windows in the given order', () => {
    const w = gatherWindows(stream, [2, 0], { seqLen: 4, bosId: 1 });
    expect([...w.ids]).toEqual([1, 16, 17, 18, 1, 10, 11, 12]);
    expect(() => gatherWindows(stream, [3], { seqLen: 4, bosId: 1 })).toThrow(/window index 3: expected 0\.\.2/);
  });

  it('reject a window length below 2 and give none for a short stream', () => {
    expect(() => windowCount(10, 1)).toThrow(/seq_len 1/);
    expect(contextWindows(Int32Array.from([5]), { seqLen: 4, bosId: 1 }).batch).toBe(0);
  });
});
