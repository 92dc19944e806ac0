// Direct logit attribution on the gpt2 (LayerNorm) and llama (RMSNorm) fixtures: an unembedding column ranks its
// own token first, the fast path matches the plain reference (centring for LayerNorm only, ⊙ ln_final.w, no
// scale division), and the analysis pass reports it per feature with token labels.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyzeDictionary } from '../../../src/core/analysis/analyze-dictionary';
import { directLogitAttribution } from '../../../src/core/analysis/direct-logit-attribution';
import { referenceArgTopK, referenceDla } from '../../../src/core/analysis/reference';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { archFixture } from '../../helpers/fixtures';
import { embeddings, makeWindows, syntheticDictionary, tensorCount } from './helpers';

/** Rows t = W_U[:, t] for every token: [V, d]. */
async function unembeddingRows(model: HookedTransformer): Promise<Float32Array> {
  const t = tf.transpose(model.weights.W_U);
  const rows = (await t.data()) as Float32Array;
  t.dispose();
  return rows;
}

for (const arch of ['gpt2', 'llama'] as const) {
  describeEachBackend(`direct logit attribution (${arch})`, () => {
    let model: HookedTransformer;
    let W_U: Float32Array;
    let lnW: Float32Array;
    beforeAll(async () => {
      model = loadModel(archFixture(arch)).model;
      W_U = (await model.weights.W_U.data()) as Float32Array;
      lnW = (await model.weights.lnFinal.w.data()) as Float32Array;
    });
    afterAll(() => model.dispose());

    it('ranks token t first for the decoder row W_U[:, t], for every t, across blocks', async () => {
      const V = model.cfg.dVocab;
      const rows = tf.tensor2d(await unembeddingRows(model), [V, model.cfg.dModel]);
      const before = tensorCount();
      const dla = await directLogitAttribution(model, rows, { k: 3, blockElements: 37 * V }); // 37 rows per block
      expect(tensorCount()).toBe(before);
      rows.dispose();
      expect(Array.from({ length: V }, (_, t) => dla.topIds[t * 3])).toEqual(Array.from({ length: V }, (_, t) => t));
    });

    it('matches the plain reference: ((x − mean·[LayerNorm]) ⊙ w) · W_U, top and bottom k', async () => {
      const { dModel: d, dVocab: V } = model.cfg;
      const rng = new Mt19937(9);
      const F = 12;
      const data = Float32Array.from({ length: F * d }, () => rng.nextFloat53() * 2 - 1);
      const rows = tf.tensor2d(data, [F, d]);
      const dla = await directLogitAttribution(model, rows, { k: 5, blockElements: 5 * V, scale: 0.5 });
      rows.dispose();
      for (let f = 0; f < F; f++) {
        const x = Float32Array.from(data.subarray(f * d, (f + 1) * d), (v) => v * 0.5);
        const ref = referenceDla(x, lnW, W_U, V, model.cfg.normType === 'layernorm');
        const top = referenceArgTopK(ref, 5);
        const bottom = referenceArgTopK(
          ref.map((v) => -v),
          5,
        );
        expect(Array.from(dla.topIds.subarray(f * 5, f * 5 + 5)), `row ${f} top ids`).toEqual(top);
        expect(Array.from(dla.bottomIds.subarray(f * 5, f * 5 + 5)), `row ${f} bottom ids`).toEqual(bottom);
        expectClose(
          dla.topLogits.subarray(f * 5, f * 5 + 5),
          top.map((i) => ref[i]!),
          { rtol: 1e-4, label: `row ${f} top logits` },
        );
        expectClose(
          dla.bottomLogits.subarray(f * 5, f * 5 + 5),
          bottom.map((i) => ref[i]!),
          { rtol: 1e-4, label: `row ${f} bottom logits` },
        );
      }
    });

    it(`${arch === 'gpt2' ? 'ignores' : 'does not ignore'} a constant added to the row (mean-centring is LayerNorm's), and scales linearly`, async () => {
      const d = model.cfg.dModel;
      const base = tf.tidy(() => tf.slice(model.weights.W_E, [40, 0], [1, d])) as tf.Tensor2D;
      const variants = tf.tidy(() => tf.concat([base, tf.add(base, 0.7), tf.mul(base, 3)])) as tf.Tensor2D;
      const dla = await directLogitAttribution(model, variants, { k: 4 });
      tf.dispose([base, variants]);
      const [plain, shifted, scaled] = [0, 1, 2].map((i) => dla.topLogits.subarray(i * 4, i * 4 + 4));
      expectClose(
        scaled!,
        plain!.map((v) => 3 * v),
        { rtol: 1e-4, label: 'no scale division: 3× the row, 3× the logits' },
      );
      const same =
        Math.max(...plain!.map((v, i) => Math.abs(v - shifted![i]!))) < 1e-4 * Math.max(...plain!.map(Math.abs));
      expect(same).toBe(model.cfg.normType === 'layernorm');
    });

    it('gives each analysed feature its logits, labelled', async () => {
      const e = await embeddings(model);
      const F = 8;
      const targets = [3, 77, 150, 260, 311, 402, 480, 509];
      const all = await unembeddingRows(model);
      const W_D = new Float32Array(F * e.d);
      targets.forEach((t, f) => W_D.set(all.subarray(t * e.d, (t + 1) * e.d), f * e.d));
      const dict = syntheticDictionary(e, [], F, { W_D });
      const labels = { tokenStrings: (ids: number[]) => ids.map((id) => `tok${id}`) };
      const r = await analyzeDictionary({
        model,
        dictionary: dict.sae,
        windows: makeWindows(4, 16),
        tokenizer: labels,
        nTokens: 1e9,
        logitCount: 4,
      });
      dict.sae.dispose();
      r.features.forEach((f, i) => {
        expect(f.topLogits.length).toBe(4);
        expect(f.topLogits[0]).toMatchObject({ tokenId: targets[i], token: `tok${targets[i]}` });
        expect(f.bottomLogits.length).toBe(4);
        expect(f.bottomLogits[0]!.logit).toBeLessThan(f.topLogits[3]!.logit);
      });
    });
  });
}
