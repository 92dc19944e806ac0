// evaluateDictionary resumed from the dictionary's hook (the layers below it run once per batch, the rest once per
// replacement) gives exactly the numbers of three full forward passes with hooks, on the real pdlm-4l-256 weights
// and validation windows: SAEs on hook_resid_post / hook_resid_pre / hook_resid_mid, and transcoders whose input
// and output hooks differ, inside one block (that block runs again from its hook_resid_pre) or across blocks.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { normalGenerator } from '../../../src/core/lm/random-params';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import { evaluateDictionary, frequencyBuckets } from '../../../src/core/sae/evaluate';
import { hostTensor } from '../../../src/core/sae/host-tensor';
import { Sae } from '../../../src/core/sae/variants/sae';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { describeEachBackend } from '../../helpers/backends';
import { pdlmValWindows } from '../../helpers/fixtures';

const D = 256;
const F = 512;

/** A TopK dictionary of random weights from `hookIn` to `hookOut` (dataset-wise scaling when norms are given). */
function randomSae(
  hookIn: string,
  hookOut: string,
  seed: number,
  norms?: Record<string, number>,
  actFn: 'topk' | 'relu' = 'topk',
): Sae {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: hookIn,
    hook_point_out: hookOut,
    d_model: D,
    d_sae: F,
    act_fn: actFn,
    top_k: 16,
    norm_activation: norms ? 'dataset-wise' : 'inference',
    dataset_average_activation_norm: norms ?? null,
  });
  const n = normalGenerator(seed);
  const rand = (shape: number[], scale: number) =>
    hostTensor(
      new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => n() * scale),
      shape,
    );
  return new Sae(cfg, { W_E: rand([D, F], 0.1), b_E: rand([F], 0.01), W_D: rand([F, D], 0.1), b_D: rand([D], 0.1) });
}

const CASES: Array<{ name: string; make: () => Sae }> = [
  {
    name: 'SAE on blocks.2.hook_resid_post',
    make: () => randomSae('blocks.2.hook_resid_post', 'blocks.2.hook_resid_post', 1),
  },
  {
    name: 'SAE on blocks.1.hook_resid_pre',
    make: () => randomSae('blocks.1.hook_resid_pre', 'blocks.1.hook_resid_pre', 2),
  },
  {
    name: 'SAE on blocks.0.hook_resid_pre (the embeddings)',
    make: () => randomSae('blocks.0.hook_resid_pre', 'blocks.0.hook_resid_pre', 3),
  },
  {
    name: 'SAE on blocks.1.hook_resid_mid',
    make: () => randomSae('blocks.1.hook_resid_mid', 'blocks.1.hook_resid_mid', 4),
  },
  {
    name: 'transcoder blocks.1.ln2.hook_normalized → blocks.1.hook_mlp_out (dataset-wise)',
    make: () =>
      randomSae('blocks.1.ln2.hook_normalized', 'blocks.1.hook_mlp_out', 5, {
        'blocks.1.ln2.hook_normalized': 14,
        'blocks.1.hook_mlp_out': 3,
      }),
  },
  {
    name: 'transcoder blocks.0.hook_resid_post → blocks.2.hook_resid_post',
    make: () => randomSae('blocks.0.hook_resid_post', 'blocks.2.hook_resid_post', 6),
  },
  {
    name: 'transcoder blocks.2.hook_resid_post → blocks.3.hook_attn_out',
    make: () => randomSae('blocks.2.hook_resid_post', 'blocks.3.hook_attn_out', 7),
  },
  {
    name: 'ReLU SAE on blocks.2.hook_resid_post (active latents counted densely)',
    make: () => randomSae('blocks.2.hook_resid_post', 'blocks.2.hook_resid_post', 9, undefined, 'relu'),
  },
  { name: 'SAE on hook_embed (no resume: three full passes)', make: () => randomSae('hook_embed', 'hook_embed', 8) },
];

// On wasm, the demo's backend (the resumed pass runs the same ops on every backend; cpu and webgpu are slow here).
describeEachBackend(
  'evaluateDictionary: resumed from the hook = three full passes',
  () => {
    let model: HookedTransformer;
    let windows: TokenBatch;
    beforeAll(() => {
      model = loadModel('pdlm-4l-256').model;
      // Five real validation windows cut to 96 tokens: two batches of 3 and 2 at batchSize 3.
      windows = pdlmValWindows(5, 96);
    });
    afterAll(() => model.dispose());

    for (const c of CASES) {
      it(c.name, async () => {
        const sae = c.make();
        try {
          const resumed = await evaluateDictionary(model, sae, windows, { batchSize: 3 });
          const threePass = await evaluateDictionary(model, sae, windows, { batchSize: 3, resume: false });
          expect(resumed).toEqual(threePass);
          // The three passes really differ (a resumed pass that ignored its replacement would show here).
          expect(new Set([resumed.ce_orig, resumed.ce_with_dictionary, resumed.ce_zero_ablation]).size).toBe(3);
          expect(resumed.tokens).toBe(5 * 95);
        } finally {
          sae.dispose();
        }
      });
    }

    it("TopK's active latents, counted among the kept ones, are the dense count of activations > 0", async () => {
      const hook = 'blocks.2.hook_resid_post';
      const sae = randomSae(hook, hook, 10);
      // Only latents 0..7 can be positive: every row keeps k = 16, of which at least 8 are 0 after the ReLU.
      sae.params.b_E!.assign(tf.tensor1d(Float32Array.from({ length: F }, (_, i) => (i < 8 ? 0 : -1e3))));
      try {
        const r = await evaluateDictionary(model, sae, windows, { batchSize: 3 });
        const { cache } = model.runWithCache(windows, [hook]);
        const [B, S] = [windows.batch, windows.seq];
        const rows = tf.slice(cache[hook]!, [0, 1, 0], [B, S - 1, D]).reshape([B * (S - 1), D]) as tf.Tensor2D;
        const fwd = sae.forward(rows);
        const acts = (await fwd.acts!.data()) as Float32Array;
        const fired = new Array<number>(F).fill(0);
        acts.forEach((v, i) => v > 0 && fired[i % F]!++);
        const total = fired.reduce((a, b) => a + b, 0);
        expect(r.l0).toBe(total / (B * (S - 1)));
        expect(r.dead_fraction).toBe(fired.filter((c) => c === 0).length / F);
        expect(r.frequency_buckets).toEqual(frequencyBuckets(fired.map((c) => c / (B * (S - 1)))));
        expect(r.l0).toBeGreaterThan(0);
        expect(r.l0).toBeLessThanOrEqual(8);
        tf.dispose([cache, rows, fwd.pre!, fwd.acts!, fwd.recon, fwd.indices!]);
      } finally {
        sae.dispose();
      }
    });
  },
  ['wasm'],
);
