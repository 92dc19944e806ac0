// The native token losses (16 rows per task, native/src/lm_kernels.c) and their logsumexp alone (SaeTokenLse) on
// wasm: to the bit tfjs's logSumExp-and-gather formulation (what the kernel has matched since it was written) on
// pdlm-4l-256's logits over 12 real validation windows (3,060 rows: a last task of 4), on rows whose max is ±0 or
// −Infinity and on a vocabulary below 16; rows with a NaN give NaN; lse − the target's logit is the loss.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tokenLosses } from '../../../../src/core/lm/cross-entropy';
import type { HookedTransformer } from '../../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../../src/core/lm/load-model';
import { tokenBatch, type TokenBatch } from '../../../../src/core/lm/token-batch';
import { SAE_TOKEN_LOSSES, SAE_TOKEN_LSE } from '../../../../src/core/tensor/kernels/kernel-names';
import { fusedTokenLse } from '../../../../src/core/tensor/kernels/token-losses/op';
import { describeEachBackend } from '../../../helpers/backends';
import { pdlmValWindows } from '../../../helpers/fixtures';

/** tokenLosses by tfjs's formulation (the native kernels taken away, put back after). */
async function plainLosses(logits: tf.Tensor3D, batch: TokenBatch): Promise<Float32Array> {
  const kernels = [SAE_TOKEN_LOSSES, SAE_TOKEN_LSE].map((name) => tf.getKernel(name, 'wasm')!);
  for (const k of kernels) tf.unregisterKernel(k.kernelName, 'wasm');
  try {
    return (await tokenLosses(logits, batch).data()) as Float32Array;
  } finally {
    for (const k of kernels) tf.registerKernel(k);
  }
}

/** The native losses, and the same from the native logsumexp: lse − the target's logit, rounded to float32. */
async function nativeLosses(logits: tf.Tensor3D, batch: TokenBatch): Promise<[Float32Array, Float32Array]> {
  const [B, S, V] = logits.shape;
  const losses = (await tokenLosses(logits, batch).data()) as Float32Array;
  const lseT = fusedTokenLse(logits.reshape([B * S, V]));
  if (!lseT) throw new Error('SaeTokenLse is not registered on wasm');
  const lse = (await lseT.data()) as Float32Array;
  const host = (await logits.data()) as Float32Array;
  lseT.dispose();
  const fromLse = new Float32Array(B * (S - 1));
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S - 1; s++) {
      const r = b * S + s;
      fromLse[b * (S - 1) + s] = lse[r]! - host[r * V + batch.ids[r + 1]!]!;
    }
  }
  return [losses, fromLse];
}

/** The bits of each float (NaN payloads and the sign of zero included). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describeEachBackend(
  'native token losses, 16 rows per task',
  () => {
    let model: HookedTransformer;
    let windows: TokenBatch;
    beforeAll(() => {
      model = loadModel('pdlm-4l-256').model;
      windows = pdlmValWindows(12);
    });
    afterAll(() => model.dispose());

    it('real logits: to the bit tfjs’s formulation, and lse − logit is the loss', async () => {
      const { logits } = model.forward(windows);
      const [native, fromLse] = await nativeLosses(logits!, windows);
      const plain = await plainLosses(logits!, windows);
      expect(native.length).toBe(12 * 255);
      expect(bits(native)).toEqual(bits(plain));
      expect(bits(fromLse)).toEqual(bits(native));
      expect(native.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      logits!.dispose();
    });

    it('rows whose max is +0, −0 or −Infinity, a NaN at the first or a later logit, V = 13', async () => {
      const V = 13;
      const S = 9;
      // Row r of window 0: its logits; the targets are position r + 1's tokens.
      const rows: number[][] = [
        [-0, 0, -1, -2, -0, -3, 0, -4, -5, -6, -7, -8, -9], // max ±0, both in the row
        [-1, -0, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12], // max −0
        [-1, 0, -2, -0, -4, -5, -6, -7, -8, -9, -10, -11, -12], // max +0 before −0
        new Array<number>(V).fill(-Infinity), // every exponential NaN (−∞ − −∞)
        [-Infinity, 3, -Infinity, ...new Array<number>(V - 3).fill(-Infinity)], // one finite logit
        [NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], // a NaN first: the max stays NaN
        [1, 2, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], // a NaN later: skipped by the max, NaN in the sum
        [30, -30, 60, -60, 88, -88, 0.5, 1e-30, -1e-30, 7, 7, 7, 7],
        Array.from({ length: V }, (_, j) => j * 0.25),
      ];
      const ids = [0, 1, 0, 2, 1, 1, 2, 4, 12];
      const batch = tokenBatch([ids]);
      const logits = tf.tensor3d(rows.flat(), [1, S, V]);
      const [native, fromLse] = await nativeLosses(logits, batch);
      const plain = await plainLosses(logits, batch);
      expect(bits(fromLse)).toEqual(bits(native));
      const finite = [0, 1, 2, 4, 7]; // rows 3, 5, 6 give NaN; row 8 is the last position (no target)
      for (const r of finite) expect(native[r], `row ${r}`).toBe(plain[r]);
      for (const r of [3, 5, 6]) expect(native[r], `row ${r}`).toBeNaN();
      expect(native[4]).toBe(0); // the target is the one finite logit: log(1) = 0
      logits.dispose();
    });
  },
  ['wasm'],
);
