// Hook points, run-with-cache stopping early, and interventions (replace / add / zero at positions).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { hookName } from '../../../src/protocol/hook-names';
import { listHookNames } from '../../../src/core/lm/hooks';
import { addToActivation, replaceActivation, zeroActivation } from '../../../src/core/lm/interventions';
import { loadModel } from '../../../src/core/lm/load-model';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { archFixture } from '../../helpers/fixtures';

const S = 12;
const ids = [
  Array.from({ length: S }, (_, i) => (i * 37 + 5) % 512),
  Array.from({ length: S }, (_, i) => (i * 11 + 3) % 512),
];
/** A tensor's values; `undefined` (a hook that was not cached, logits not computed) fails the test by name. */
const arr = async (t: tf.Tensor | null | undefined, what = 'tensor') => {
  if (!t) throw new Error(`${what}: not produced`);
  return Array.from((await t.data()) as Float32Array);
};

/**
 * Registers a suite's loading and disposal of the gpt2 and Gemma 2 fixture models (after the suite's backend is
 * set up); the getters are valid once the suite's beforeAll ran.
 */
function useModels(): { gpt2: () => HookedTransformer; gemma: () => HookedTransformer } {
  let gpt2: HookedTransformer | undefined;
  let gemma: HookedTransformer | undefined;
  beforeAll(() => {
    gpt2 = loadModel(archFixture('gpt2')).model;
    gemma = loadModel(archFixture('gemma2')).model;
  });
  afterAll(() => {
    gpt2?.dispose();
    gemma?.dispose();
  });
  const made = (m: HookedTransformer | undefined, name: string) => {
    if (!m) throw new Error(`the ${name} fixture model is loaded in beforeAll`);
    return m;
  };
  return { gpt2: () => made(gpt2, 'gpt2'), gemma: () => made(gemma, 'gemma2') };
}

describeEachBackend('hooks: names and run-with-cache', () => {
  const { gpt2, gemma } = useModels();

  it('names hooks as TransformerLens does', () => {
    const names = listHookNames(gpt2().cfg);
    for (const n of [
      'hook_embed',
      'hook_pos_embed',
      'blocks.0.hook_resid_pre',
      'blocks.0.ln1.hook_normalized',
      'blocks.0.attn.hook_pattern',
      'blocks.0.attn.hook_z',
      'blocks.0.hook_attn_out',
      'blocks.0.hook_resid_mid',
      'blocks.0.mlp.hook_post',
      'blocks.1.hook_mlp_out',
      'blocks.1.hook_resid_post',
      'ln_final.hook_normalized',
    ]) {
      expect(names).toContain(n);
    }
    expect(hookName(3, 'resid_post')).toBe('blocks.3.hook_resid_post');
    expect(listHookNames(gemma().cfg)).toContain('blocks.1.attn.hook_rot_q');
    expect(listHookNames(gemma().cfg)).not.toContain('hook_pos_embed');
    expect(() => gpt2().runWithCache(ids, ['blocks.2.hook_resid_post'])).toThrow(
      /unknown hook 'blocks\.2\.hook_resid_post'.*blocks 0\.\.1/,
    );
    expect(() => gpt2().runWithCache(ids, ['blocks.0.hook_resid_postt'])).toThrow(/unknown hook/);
  });

  it('run-with-cache stops after the deepest requested hook and gives the full pass values', async () => {
    const full = gpt2().forward(ids, { cache: ['blocks.0.hook_resid_post'] });
    const early = gpt2().runWithCache(ids, ['blocks.0.hook_resid_post']);
    expect(early.logits).toBeNull();
    expectClose(await arr(early.cache['blocks.0.hook_resid_post']), await arr(full.cache['blocks.0.hook_resid_post']), {
      rtol: 1e-6,
      label: 'early stop',
    });
    tf.dispose([...(full.logits ? [full.logits] : []), ...Object.values(full.cache), ...Object.values(early.cache)]);
    const kernels = async (f: () => tf.Tensor[]) =>
      (await tf.profile(() => f())).kernels.filter((k) => k.name === 'BatchMatMul').length;
    const fullCount = await kernels(() => {
      const { logits } = gpt2().forward(ids);
      return logits ? [logits] : [];
    });
    const earlyCount = await kernels(() => Object.values(gpt2().runWithCache(ids, ['blocks.0.hook_resid_post']).cache));
    // one block of 2 (6 matmuls each: q, k, v, scores, pattern·v, out, + MLP 2) and no unembedding
    expect(earlyCount).toBeLessThan(fullCount / 2);
  });
});

describeEachBackend('hooks: causal and sliding-window attention', () => {
  const { gpt2, gemma } = useModels();

  it('is causal: changing a later token leaves earlier logits unchanged', async () => {
    const changed = ids.map((row) => row.map((t, i) => (i >= 7 ? (t + 101) % 512 : t)));
    const a = await arr(gpt2().forward(ids).logits);
    const b = await arr(gpt2().forward(changed).logits);
    const V = 512;
    const before = (x: number[]) => x.filter((_, i) => Math.floor(i / V) % S < 7);
    const after = (x: number[]) => x.filter((_, i) => Math.floor(i / V) % S >= 7);
    expectClose(before(b), before(a), { rtol: 1e-6, label: 'positions < 7' });
    const bAfter = after(b);
    expect(Math.max(...after(a).map((v, i) => Math.abs(v - (bAfter[i] ?? Number.NaN))))).toBeGreaterThan(1e-3);
  });

  it("respects Gemma 2's sliding window of 8 on layer 0 and full attention on layer 1", async () => {
    const out = gemma().runWithCache(ids, ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']);
    const H = 4;
    expect(out.cache['blocks.0.attn.hook_pattern']?.shape).toEqual([2, H, S, S]);
    const p0 = await arr(out.cache['blocks.0.attn.hook_pattern']);
    const p1 = await arr(out.cache['blocks.1.attn.hook_pattern']);
    // Batch row 0, head 1: pattern[0, 1, q, k].
    const at = (p: number[], q: number, k: number) => p[(0 * H + 1) * S * S + q * S + k];
    expect(at(p0, 10, 2)).toBe(0); // 10 - 2 >= 8: outside the window
    expect(at(p0, 10, 3)).toBeGreaterThan(0);
    expect(at(p1, 10, 2)).toBeGreaterThan(0);
    expect(at(p1, 3, 4)).toBe(0); // causal
  });
});

describeEachBackend('hooks: interventions', () => {
  const { gpt2 } = useModels();

  it('zero-ablates a hook at chosen positions only', async () => {
    const name = 'blocks.0.hook_attn_out';
    const clean = gpt2().runWithCache(ids, ['blocks.0.hook_resid_mid', name]);
    const ablated = gpt2().runWithCache(ids, ['blocks.0.hook_resid_mid', name], {
      hooks: { [name]: zeroActivation({ positions: [4] }) },
    });
    const d = gpt2().cfg.dModel;
    const a = await arr(ablated.cache[name]);
    const c = await arr(clean.cache[name]);
    for (let s = 0; s < S; s++) {
      const row = a.slice(s * d, (s + 1) * d);
      if (s === 4) expect(row.every((v) => v === 0)).toBe(true);
      else expect(row).toEqual(c.slice(s * d, (s + 1) * d));
    }
    const mid = await arr(ablated.cache['blocks.0.hook_resid_mid']);
    const midClean = await arr(clean.cache['blocks.0.hook_resid_mid']);
    expect(mid.slice(4 * d, 5 * d)).not.toEqual(midClean.slice(4 * d, 5 * d));
  });

  it('adds a steering vector and replaces activations; the effect reaches the next block', async () => {
    const d = gpt2().cfg.dModel;
    const delta = tf.fill([d], 0.5);
    const added = gpt2().runWithCache(ids, ['blocks.1.hook_resid_pre'], {
      hooks: { 'blocks.0.hook_resid_post': addToActivation(delta, { positions: [2] }) },
    });
    const clean = gpt2().runWithCache(ids, ['blocks.1.hook_resid_pre']);
    const a = await arr(added.cache['blocks.1.hook_resid_pre']);
    const c = await arr(clean.cache['blocks.1.hook_resid_pre']);
    a.forEach((v, i) => expect(v - (c[i] ?? Number.NaN)).toBeCloseTo(Math.floor(i / d) % S === 2 ? 0.5 : 0, 5));
    const replaced = gpt2().runWithCache(ids, ['blocks.0.hook_mlp_out'], {
      hooks: { 'blocks.0.hook_mlp_out': replaceActivation(tf.ones([d])) },
    });
    expect((await arr(replaced.cache['blocks.0.hook_mlp_out'])).every((v) => v === 1)).toBe(true);
    const identity = gpt2().forward(ids, { hooks: { 'blocks.0.hook_resid_mid': (x) => x } });
    expectClose(await arr(identity.logits), await arr(gpt2().forward(ids).logits), { rtol: 0, label: 'identity hook' });
  });

  it('rejects a hook that changes the shape, and positions out of range', () => {
    expect(() =>
      gpt2().forward(ids, { hooks: { 'blocks.0.hook_resid_pre': (x) => x.slice([0, 0, 0], [1, S, 64]) } }),
    ).toThrow(/hook 'blocks\.0\.hook_resid_pre' returned shape \[1,12,64\], expected \[2,12,64\]/);
    expect(() =>
      gpt2().forward(ids, { hooks: { 'blocks.0.hook_resid_pre': zeroActivation({ positions: [S] }) } }),
    ).toThrow(/position 12 is out of range 0\.\.11/);
  });
});
