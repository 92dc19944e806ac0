// evaluateDictionary with zero-ablation's pass computed once per distinct position-0 row (SharedZeroAblation, the
// default when the evaluation resumes at the dictionary's own hook) gives exactly the numbers of the per-window
// pass, on the real pdlm-4l-256 weights and validation windows with a demo-shaped TopK SAE (4096 latents, k 32, on
// blocks.2.hook_resid_post): windows starting with BOS, windows that do not (two of them sharing their first
// token, in different batches), and batches where no two windows share a first row (the per-window pass then).
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ForwardOptions, HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { tokenBatch, type TokenBatch } from '../../../src/core/lm/token-batch';
import { evaluateDictionary, type EvalOptions, type EvalResult } from '../../../src/core/sae/evaluate';
import { hostTensor } from '../../../src/core/sae/host-tensor';
import { Sae } from '../../../src/core/sae/variants/sae';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { describeEachBackend } from '../../helpers/backends';
import { PDLM_REFERENCE } from '../../helpers/fixtures';

const HOOK = 'blocks.2.hook_resid_post';
const D = 256;
const F = 4096;
const SEQ = 256;

function demoShapedSae(seed: number): Sae {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: HOOK,
    hook_point_out: HOOK,
    d_model: D,
    d_sae: F,
    act_fn: 'topk',
    top_k: 32,
    norm_activation: 'inference',
  });
  const n = normalGenerator(seed);
  const rand = (shape: number[], scale: number) =>
    hostTensor(
      new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => n() * scale),
      shape,
    );
  return new Sae(cfg, { W_E: rand([D, F], 0.05), b_E: rand([F], 0.01), W_D: rand([F, D], 0.05), b_D: rand([D], 0.1) });
}

/** Every field the same value (Object.is: the same double, NaN included), buckets included. */
function expectSame(a: EvalResult, b: EvalResult): void {
  for (const key of Object.keys(b) as Array<keyof EvalResult>) expect(a[key], key).toStrictEqual(b[key]);
}

describeEachBackend(
  'evaluateDictionary: zero-ablation once per distinct first row = once per window',
  () => {
    let model: HookedTransformer;
    let val: Int32Array;
    /** The windows of each pass resumed at the hook, counted (the model itself runs them). */
    let resumedRows: number[] = [];
    beforeAll(() => {
      model = loadModel('pdlm-4l-256').model;
      val = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors')).readInt32('val_windows');
      const forward = model.forward.bind(model);
      model.forward = (input: TokenBatch | ArrayLike<number>[], opts?: ForwardOptions) => {
        if (opts?.from) resumedRows.push(tokenBatch(input).batch);
        return forward(input, opts);
      };
    });
    afterAll(() => model.dispose());

    const window = (i: number, shift = 0) => Array.from(val.subarray(i * SEQ + shift, i * SEQ + shift + SEQ));

    async function compare(sae: Sae, windows: TokenBatch, opts: EvalOptions = {}) {
      resumedRows = [];
      const perWindow = await evaluateDictionary(model, sae, windows, { ...opts, shareZeroAblation: false });
      const perWindowRows = resumedRows.reduce((a, b) => a + b, 0);
      resumedRows = [];
      // Counted after a first evaluation: the model keeps its causal mask for this length from then on.
      const before = tf.memory().numTensors;
      const shared = await evaluateDictionary(model, sae, windows, opts);
      expect(tf.memory().numTensors).toBe(before); // every pass's tensors disposed
      const sharedRows = resumedRows.reduce((a, b) => a + b, 0);
      expectSame(shared, perWindow);
      return { shared, sharedRows, perWindowRows };
    }

    it('28 BOS windows and 3 that do not start with BOS, in 4 batches of 8', async () => {
      const rows = Array.from({ length: 28 }, (_, i) => window(i));
      const shiftedA = window(40, 1); // starts with the second token of window 40
      const shiftedB = [shiftedA[0]!, ...window(41).slice(1)]; // the same first token: the same first row
      const other = window(42, 7);
      expect(new Set([rows[0]![0], shiftedA[0], other[0]]).size).toBe(3);
      rows.splice(3, 0, shiftedA);
      rows.splice(20, 0, shiftedB);
      rows.splice(12, 0, other);
      const sae = demoShapedSae(1);
      try {
        const { shared, sharedRows, perWindowRows } = await compare(sae, tokenBatch(rows));
        expect(shared.tokens).toBe(31 * (SEQ - 1));
        expect(new Set([shared.ce_orig, shared.ce_with_dictionary, shared.ce_zero_ablation]).size).toBe(3);
        expect(Number.isFinite(shared.ce_zero_ablation)).toBe(true);
        // Per window: 3 passes of every window. Shared: 2 of every window, then one window of each distinct
        // first row when first met (BOS and shiftedA's in batch 1, other's in batch 2; shiftedB's is cached).
        expect(perWindowRows).toBe(3 * 31);
        expect(sharedRows).toBe(2 * 31 + 3);
      } finally {
        sae.dispose();
      }
    });

    it('batches whose windows all start differently (the per-window pass) mixed with shared ones', async () => {
      const rows = [window(50, 1), window(51, 2), window(52), window(53), window(54, 3)];
      expect(rows[0]![0]).not.toBe(rows[1]![0]);
      const sae = demoShapedSae(2);
      try {
        const { sharedRows } = await compare(sae, tokenBatch(rows), { batchSize: 2 });
        // Batch 1: two distinct first rows, neither cached → the per-window pass (2 + 2 + 2 windows); batch 2:
        // two BOS windows → one shared window; batch 3: one window, its own row → one window.
        expect(sharedRows).toBe(6 + (2 + 2 + 1) + (1 + 1 + 1));
      } finally {
        sae.dispose();
      }
    });
  },
  ['wasm'],
);
