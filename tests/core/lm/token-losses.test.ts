// The native next-token losses (SaeTokenLosses, wasm) equal tfjs's logSumExp-and-gather formulation to the bit on
// pdlm-4l-256's logits over real validation windows, and so does crossEntropy's mean.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { crossEntropy, tokenLosses } from '../../../src/core/lm/cross-entropy';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { tokenBatch, type TokenBatch } from '../../../src/core/lm/token-batch';
import { SAE_TOKEN_LOSSES } from '../../../src/core/tensor/kernels/kernel-names';
import { describeEachBackend } from '../../helpers/backends';
import { pdlmValWindows } from '../../helpers/fixtures';

/** Runs `fn` with the native kernel taken away (tfjs's formulation), putting it back after. */
async function withoutNative<T>(fn: () => Promise<T>): Promise<T> {
  const kernel = tf.getKernel(SAE_TOKEN_LOSSES, 'wasm')!;
  tf.unregisterKernel(SAE_TOKEN_LOSSES, 'wasm');
  try {
    return await fn();
  } finally {
    tf.registerKernel(kernel);
  }
}

describeEachBackend(
  'token losses: native = tfjs',
  () => {
    let model: HookedTransformer;
    let windows: TokenBatch;
    beforeAll(() => {
      model = loadModel('pdlm-4l-256').model;
      windows = pdlmValWindows(4);
    });
    afterAll(() => model.dispose());

    it('is registered on wasm (the addon of this checkout has it)', () => {
      expect(tf.getKernel(SAE_TOKEN_LOSSES, 'wasm')).toBeDefined();
    });

    it('per-position losses, to the bit, on real logits and on a window whose logits are shifted far from 0', async () => {
      const { logits } = model.forward(windows);
      const shifted = tf.add(logits!, 80) as tf.Tensor3D; // exp(x) alone would overflow: the max is taken out first
      for (const l of [logits!, shifted]) {
        const native = (await tokenLosses(l, windows).data()) as Float32Array;
        const plain = await withoutNative(async () => (await tokenLosses(l, windows).data()) as Float32Array);
        expect(native.length).toBe(4 * 255);
        expect(Array.from(native)).toEqual(Array.from(plain));
        expect(native.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      }
      tf.dispose([logits!, shifted]);
    });

    it('logits spread over 140 nats, a vocabulary not a multiple of 16: exponentials that underflow, subnormal, or are 0', async () => {
      const V = 1000;
      const batch = tokenBatch([
        [0, 5, 999, 17, 3, 250, 998],
        [7, 0, 1, 2, 500, 600, 700],
      ]);
      const n = normalGenerator(11);
      const values = new Float32Array(2 * 7 * V).map((_, i) => (i % 97 === 0 ? 20 : n() * 40 - 60));
      const logits = tf.tensor3d(values, [2, 7, V]);
      const native = Array.from(await tokenLosses(logits, batch).data());
      const plain = await withoutNative(async () => Array.from(await tokenLosses(logits, batch).data()));
      expect(native).toEqual(plain);
      expect(native.some((v) => v > 100)).toBe(true); // targets far below the max: exp(x − m) underflows
      logits.dispose();
    });

    it('crossEntropy: the same mean', async () => {
      const native = await crossEntropy(model, windows, { batchSize: 3 });
      const plain = await withoutNative(() => crossEntropy(model, windows, { batchSize: 3 }));
      expect(native).toEqual(plain);
    });
  },
  ['wasm'],
);
