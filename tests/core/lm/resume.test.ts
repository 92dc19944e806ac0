// A forward pass resumed at a block boundary (ForwardOptions.from) gives the bits of the full pass: from a cached
// hook_resid_pre / hook_resid_post as is, with a replaced activation, and with a hook inside the re-run block; on
// pdlm-4l-256 and the Gemma 2 fixture (rotary, post-norms). Where a pass can resume (resumePoint), and what it refuses.
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { KvCache } from '../../../src/core/lm/kv-cache';
import { loadModel } from '../../../src/core/lm/load-model';
import { tokenBatch, type TokenBatch } from '../../../src/core/lm/token-batch';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { archFixture, PDLM_REFERENCE } from '../../helpers/fixtures';

const bits = async (t: tf.Tensor | null | undefined) => {
  if (!t) throw new Error('not produced');
  return Array.from((await t.data()) as Float32Array);
};

describeEachBackend(
  'forward resumed from a hook point',
  () => {
    let pdlm: HookedTransformer;
    let gemma: HookedTransformer;
    let rows: TokenBatch;
    beforeAll(() => {
      pdlm = loadModel('pdlm-4l-256').model;
      gemma = loadModel(archFixture('gemma2')).model;
      const val = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors')).readInt32('val_windows');
      rows = tokenBatch([Array.from(val.subarray(0, 40)), Array.from(val.subarray(256, 296))]);
    });
    afterAll(() => {
      pdlm.dispose();
      gemma.dispose();
    });

    it('from any block boundary of pdlm-4l-256, the logits of the full pass', async () => {
      const full = await bits(pdlm.forward(rows).logits);
      for (let l = 0; l < pdlm.cfg.nLayers; l++) {
        for (const hook of [`blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_resid_post`]) {
          const { cache } = pdlm.runWithCache(rows, [hook]);
          const resumed = await bits(pdlm.forward(rows, { from: { hook, activation: cache[hook]! } }).logits);
          expect(resumed, hook).toEqual(full);
          tf.dispose(cache);
        }
      }
    });

    it('a replaced activation: the same as a hook returning it in the full pass', async () => {
      const hook = 'blocks.1.hook_resid_post';
      const { cache } = pdlm.runWithCache(rows, [hook]);
      const replaced = tf.mul(cache[hook]!, 0.5);
      const full = await bits(pdlm.forward(rows, { hooks: { [hook]: () => replaced } }).logits);
      const resumed = await bits(pdlm.forward(rows, { from: { hook, activation: replaced } }).logits);
      expect(resumed).toEqual(full);
      expect(resumed).not.toEqual(await bits(pdlm.forward(rows).logits));
      tf.dispose([replaced, cache]);
    });

    it('a hook inside the block re-run from its hook_resid_pre, and caches after the resumed point', async () => {
      const from = pdlm.resumePoint('blocks.2.mlp.hook_post')!;
      expect(from).toBe('blocks.2.hook_resid_pre');
      const halve = (x: tf.Tensor) => tf.mul(x, 0.5);
      const hooks = { 'blocks.2.mlp.hook_post': halve };
      const cached = ['blocks.2.hook_mlp_out', 'blocks.3.hook_resid_post'];
      const full = pdlm.forward(rows, { hooks, cache: cached });
      const { cache } = pdlm.runWithCache(rows, [from]);
      const resumed = pdlm.forward(rows, { from: { hook: from, activation: cache[from]! }, hooks, cache: cached });
      expect(await bits(resumed.logits)).toEqual(await bits(full.logits));
      for (const n of cached) expect(await bits(resumed.cache[n]), n).toEqual(await bits(full.cache[n]));
      tf.dispose([full.logits!, resumed.logits!, cache, full.cache, resumed.cache]);
    });

    it('Gemma 2 (rotary, post-norms): from hook_resid_pre and hook_resid_post', async () => {
      const ids = [Array.from({ length: 12 }, (_, i) => (i * 37 + 5) % 512)];
      const full = await bits(gemma.forward(ids).logits);
      for (const hook of ['blocks.1.hook_resid_pre', 'blocks.0.hook_resid_post']) {
        const { cache } = gemma.runWithCache(ids, [hook]);
        expect(await bits(gemma.forward(ids, { from: { hook, activation: cache[hook]! } }).logits), hook).toEqual(full);
        tf.dispose(cache);
      }
    });

    it('resumePoint: the hook itself at a boundary, the block start inside one, none on the embeddings', () => {
      expect(pdlm.resumePoint('blocks.2.hook_resid_post')).toBe('blocks.2.hook_resid_post');
      expect(pdlm.resumePoint('blocks.2.hook_resid_pre')).toBe('blocks.2.hook_resid_pre');
      expect(pdlm.resumePoint('blocks.2.hook_resid_mid')).toBe('blocks.2.hook_resid_pre');
      expect(pdlm.resumePoint('blocks.0.attn.hook_z')).toBe('blocks.0.hook_resid_pre');
      expect(pdlm.resumePoint('ln_final.hook_normalized')).toBe('blocks.3.hook_resid_post');
      expect(pdlm.resumePoint('hook_embed')).toBeNull();
      expect(pdlm.resumePoint('hook_pos_embed')).toBeNull();
      expect(() => pdlm.resumePoint('blocks.9.hook_resid_post')).toThrow(InputError);
    });

    it('refuses a point inside a block, hooks at or before the point, a wrong shape, and a KV cache', () => {
      const { cache } = pdlm.runWithCache(rows, ['blocks.1.hook_resid_post']);
      const x = cache['blocks.1.hook_resid_post']!;
      const run = (opts: Parameters<HookedTransformer['forward']>[1]) => () => pdlm.forward(rows, opts);
      expect(run({ from: { hook: 'blocks.1.hook_mlp_out', activation: x } })).toThrow(
        /cannot resume from 'blocks.1.hook_mlp_out'/,
      );
      expect(
        run({
          from: { hook: 'blocks.1.hook_resid_post', activation: x },
          hooks: { 'blocks.1.hook_mlp_out': () => {} },
        }),
      ).toThrow(/hook 'blocks.1.hook_mlp_out' lies at or before 'blocks.1.hook_resid_post'/);
      expect(
        run({ from: { hook: 'blocks.2.hook_resid_pre', activation: x }, cache: ['blocks.2.hook_resid_pre'] }),
      ).toThrow(InputError);
      expect(run({ from: { hook: 'blocks.1.hook_resid_post', activation: tf.zeros([2, 39, 256]) } })).toThrow(
        /has shape \[2,39,256\], expected \[2,40,256\]/,
      );
      const kv = new KvCache(pdlm.cfg, 2);
      expect(run({ from: { hook: 'blocks.1.hook_resid_post', activation: x }, kvCache: kv })).toThrow(InputError);
      kv.dispose();
      tf.dispose(cache);
    });
  },
  ['wasm'],
);
