// "Which features fire on this text": a planted one-token feature shows up on exactly that token, each token's
// list is the reference's strongest features in order, on the gpt2 fixture (a word-level test tokenizer) and
// on pdlm-4l-256 with its real tokenizer and BOS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { featuresOnText, type TextTokenizer } from '../../../src/core/analysis/features-on-text';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { archFixture, PDLM_DIR } from '../../helpers/fixtures';
import { detectableTokens, detector, embeddings, syntheticDictionary, tensorCount } from './helpers';

/** Splits on spaces; each word's id is given by `vocab`. */
function wordTokenizer(vocab: Record<string, number>): TextTokenizer {
  const names = new Map(Object.entries(vocab).map(([w, id]) => [id, w]));
  return {
    encode: (text) => text.split(' ').map((w) => vocab[w] ?? 11),
    tokenStrings: (ids) => ids.map((id) => names.get(id) ?? '?'),
  };
}

describeEachBackend('featuresOnText', () => {
  let gpt2: HookedTransformer;
  beforeAll(() => {
    gpt2 = loadModel(archFixture('gpt2')).model;
  });
  afterAll(() => gpt2.dispose());

  it('lists the planted feature on the planted token, and each token’s strongest features in order', async () => {
    const e = await embeddings(gpt2);
    const [cat] = detectableTokens(e, 1) as [number];
    const F = 40;
    const dict = syntheticDictionary(e, [cat], F);
    const tok = wordTokenizer({ the: 20, cat: cat, sat: 30, on: 40, mat: 50 });
    const before = tensorCount();
    const out = await featuresOnText(gpt2, dict.sae, tok, 'the cat sat on the mat cat', { topFeatures: 6 });
    expect(tensorCount()).toBe(before);
    dict.sae.dispose();
    expect(out.map((t) => t.token)).toEqual(['the', 'cat', 'sat', 'on', 'the', 'mat', 'cat']); // no BOS: the fixture's is outside its vocabulary
    const ref = dict.activations(out.map((t) => t.tokenId));
    out.forEach((t, pos) => {
      expect(t.position).toBe(pos);
      const fires = t.features.some((f) => f.index === 0);
      expect(fires, `planted feature at ${pos} (${t.token})`).toBe(t.token === 'cat');
      const expected = Array.from({ length: F }, (_, f) => f)
        .filter((f) => ref[pos * F + f]! > 0)
        .sort((a, b) => ref[pos * F + b]! - ref[pos * F + a]!)
        .slice(0, 6);
      expect(
        t.features.map((f) => f.index),
        `features at ${pos}`,
      ).toEqual(expected);
      expectClose(
        t.features.map((f) => f.activation),
        expected.map((f) => ref[pos * F + f]!),
        { rtol: 1e-4, label: `activations at ${pos}` },
      );
    });
    expectClose([out[1]!.features.find((f) => f.index === 0)!.activation], [dict.plantedValue[0]!], {
      rtol: 1e-5,
      label: 'planted value',
    });
  });

  it('starts pdlm text with its BOS and finds the feature planted on a real token', async () => {
    const { model } = loadModel(PDLM_DIR);
    try {
      const tokenizer = ModelTokenizer.load(PDLM_DIR);
      const catId = tokenizer.encode(' cat')[0]!;
      expect(tokenizer.encode(' cat')).toEqual([catId]);
      const e = await embeddings(model);
      const { self, others } = detector(e, catId);
      expect(self).toBeGreaterThan(others); // a threshold can separate it from every other token
      const dict = syntheticDictionary(e, [catId], 16);
      const out = await featuresOnText(model, dict.sae, tokenizer, 'The cat sat. A cat!', { topFeatures: 3 });
      dict.sae.dispose();
      expect(out[0]!.tokenId).toBe(model.cfg.bosTokenId);
      expect(out.map((t) => t.tokenId)).toEqual([0, ...tokenizer.encode('The cat sat. A cat!')]);
      const firing = out.filter((t) => t.features.some((f) => f.index === 0)).map((t) => t.position);
      expect(firing).toEqual(out.filter((t) => t.tokenId === catId).map((t) => t.position));
      expect(firing.length).toBe(2);
      expect(out[firing[0]!]!.token).toBe(' cat');
    } finally {
      model.dispose();
    }
  });
});
