// The fused causal attention (SaeCausalAttention: no [B, H, S, S] scores or pattern, no transposes; native on the
// CPU backends, one WGSL dispatch on webgpu) against tfjs's formulation: directly on random q, k, v with
// grouped-query heads, sliding windows and head sizes that are not multiples of 16; and inside every parity model,
// whose logits must not move when a hook on the pattern makes the forward take tfjs's path instead. The HF parity
// test covers the fused path against Hugging Face as well.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { fusedCausalAttention } from '../../../src/core/tensor/kernels/causal-attention/op';
import { SAE_CAUSAL_ATTENTION } from '../../../src/core/tensor/kernels/kernel-names';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { PARITY_CASES } from '../../helpers/hf-parity-cases';

function rand(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const g = normalGenerator(seed);
  return tf.tensor(
    new Float32Array(shape.reduce((a, b) => a * b)).map(() => g()),
    shape,
  ) as tf.Tensor4D;
}

/** softmax over keys j ≤ i (and j > i − window) of q_i·k_j (soft-capped: c·tanh(s / c)), times v; query head h
 * reads head h / (H / Kh). */
function reference(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  window: number | null,
  softcap: number | null = null,
): tf.Tensor {
  return tf.tidy(() => {
    const [, S, H] = q.shape;
    const rep = H / k.shape[2];
    // Query head h's key/value head, by a gather (webgpu would run a rank-5 tile on the CPU, through a sync read).
    const heads = tf.tensor1d(
      Array.from({ length: H }, (_, h) => Math.floor(h / rep)),
      'int32',
    );
    const kk = tf.gather(k, heads, 2);
    const vv = tf.gather(v, heads, 2);
    let scores = tf.matMul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(kk, [0, 2, 3, 1])); // [B, H, S, S]
    if (softcap !== null) scores = tf.mul(tf.tanh(tf.div(scores, softcap)), softcap);
    const m = new Float32Array(S * S).map((_, x) => {
      const i = Math.floor(x / S),
        j = x % S;
      return j <= i && (window === null || j > i - window) ? 0 : -1e9;
    });
    const p = tf.softmax(tf.add(scores, tf.tensor2d(m, [S, S])));
    return tf.transpose(tf.matMul(p, tf.transpose(vv, [0, 2, 1, 3])), [0, 2, 1, 3]);
  });
}

describeEachBackend('fused causal attention', (backend) => {
  it('equals softmax(q kᵀ + mask) v: grouped heads, windows, odd sizes', async (ctx) => {
    const probe = fusedCausalAttention(rand([1, 2, 1, 16], 1), rand([1, 2, 1, 16], 2), rand([1, 2, 1, 16], 3), null);
    if (!probe) {
      ctx.skip('the fused attention does not run here (no addon, or no AVX-512)');
      return;
    }
    probe.dispose();
    const cases = [
      { B: 2, S: 37, H: 4, Kh: 2, dh: 24, window: null },
      { B: 1, S: 70, H: 6, Kh: 6, dh: 64, window: 5 },
      { B: 3, S: 17, H: 2, Kh: 1, dh: 128, window: 16 },
      { B: 1, S: 1, H: 3, Kh: 3, dh: 7, window: null },
      { B: 2, S: 256, H: 8, Kh: 4, dh: 32, window: null },
      // Gemma 2's head size (webgpu only: the native kernel stops at 128), windows across workgroups of queries
      { B: 1, S: 150, H: 2, Kh: 1, dh: 256, window: 100 },
      // Gemma 2's soft-capped scores (webgpu only), a cap the scores reach
      { B: 2, S: 90, H: 4, Kh: 2, dh: 32, window: null, softcap: 1.5 },
    ];
    for (const [n, c] of cases.entries()) {
      const q = tf.mul(rand([c.B, c.S, c.H, c.dh], 10 + n), 1 / Math.sqrt(c.dh)) as tf.Tensor4D;
      const k = rand([c.B, c.S, c.Kh, c.dh], 20 + n),
        v = rand([c.B, c.S, c.Kh, c.dh], 30 + n);
      const softcap = 'softcap' in c ? c.softcap : null;
      const z = fusedCausalAttention(q, k, v, c.window, softcap);
      if ((c.dh > 128 || softcap !== null) && backend !== 'webgpu') {
        expect(z, 'the native kernel declines heads over 128 and soft caps').toBeNull();
        tf.dispose([q, k, v]);
        continue;
      }
      if (!z) throw new Error(`the fused attention declined ${JSON.stringify(c)}`);
      expect(z.shape).toEqual([c.B, c.S, c.H, c.dh]);
      expectClose(await z.data(), await reference(q, k, v, c.window, softcap).data(), {
        rtol: 2e-6,
        label: JSON.stringify(c),
      });
      tf.dispose([q, k, v, z]);
    }
  });

  it('multiplies q by its scale as tf.mul does: the same bits as q scaled beforehand', async (ctx) => {
    const cases = [
      { B: 2, S: 256, H: 8, Kh: 8, dh: 32, window: null },
      { B: 1, S: 45, H: 4, Kh: 2, dh: 24, window: 9 },
    ];
    for (const [n, c] of cases.entries()) {
      const q = rand([c.B, c.S, c.H, c.dh], 40 + n);
      const k = rand([c.B, c.S, c.Kh, c.dh], 50 + n),
        v = rand([c.B, c.S, c.Kh, c.dh], 60 + n);
      const scale = 1 / Math.sqrt(c.dh);
      const scaled = tf.mul(q, scale) as tf.Tensor4D;
      const inside = fusedCausalAttention(q, k, v, c.window, null, scale);
      const before = fusedCausalAttention(scaled, k, v, c.window);
      if (!inside || !before) {
        tf.dispose([q, k, v, scaled]);
        ctx.skip('the fused attention does not run here (no addon, or no AVX-512)');
        return;
      }
      expect(
        Buffer.from((await inside.data()).buffer).equals(Buffer.from((await before.data()).buffer)),
        JSON.stringify(c),
      ).toBe(true);
      tf.dispose([q, k, v, scaled, inside, before]);
    }
  });

  for (const c of PARITY_CASES) describeCase(c);

  function describeCase(c: (typeof PARITY_CASES)[number]) {
    let model: HookedTransformer;
    beforeAll(() => {
      model = loadModel(c.dir).model;
    });
    afterAll(() => model.dispose());

    it(`${c.name}: the same logits through the fused kernel as through tfjs's attention`, async () => {
      const ref = openSafetensors(c.reference);
      const [B, S] = ref.info('input_ids').shape as [number, number];
      const ids = ref.readInt32('input_ids');
      const profile = await tf.profile(() => {
        const fused = model.forward({ ids, batch: B, seq: S });
        // A hook on each layer's pattern (changing nothing) makes every layer take tfjs's path.
        const watch = Object.fromEntries(
          Array.from({ length: model.cfg.nLayers }, (_, l) => [`blocks.${l}.attn.hook_pattern`, () => undefined]),
        );
        const plain = model.forward({ ids, batch: B, seq: S }, { hooks: watch });
        return tf.tidy(() => tf.stack([fused.logits!, plain.logits!]));
      });
      const both = profile.result as tf.Tensor;
      const [fusedLogits, plainLogits] = tf.unstack(both);
      expectClose(await fusedLogits!.data(), await plainLogits!.data(), { rtol: 1e-5, label: `${c.name} logits` });
      const ranFused = profile.kernels.some((k) => k.name === SAE_CAUSAL_ATTENTION);
      const expected = (model.cfg.attnSoftcap === null || backend === 'webgpu') && available(model);
      expect(ranFused, 'the fused kernel ran where it can').toBe(expected);
      tf.dispose([both, fusedLogits!, plainLogits!]);
    });
  }
});

function available(model: HookedTransformer): boolean {
  const d = model.cfg.dHead;
  const t = rand([1, 1, 1, d], 0);
  const z = fusedCausalAttention(t as tf.Tensor4D, t, t, null);
  const ok = z !== null;
  tf.dispose([t, ...(z ? [z] : [])]);
  return ok;
}
