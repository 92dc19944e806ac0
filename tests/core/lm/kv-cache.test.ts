// Incremental decoding with a KV cache against repeated full forwards, on the six tiny Hugging Face fixtures
// (gpt2, llama, qwen2, qwen3 with q/k norms, gemma2 with soft-capping and an 8-token sliding window, gpt_neox
// with partial rotary and parallel attention) and pdlm-4l-256: 32 greedy tokens identical, each step's logits
// within 1e-4 of the full forward's last position, and no tensor left behind.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { generateTokens } from '../../../src/core/lm/generate';
import { KvCache } from '../../../src/core/lm/kv-cache';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { PARITY_CASES } from '../../helpers/hf-parity-cases';

const NEW_TOKENS = 32;
const RTOL = 1e-4;

function promptFor(model: HookedTransformer, length: number, seed: number): number[] {
  const rng = new Mt19937(seed);
  return Array.from({ length }, () => rng.nextUint32() % model.cfg.dVocab);
}

describeEachBackend('KV-cache decoding', () => {
  for (const c of PARITY_CASES) {
    describeCase(c);
  }
});

function describeCase(c: (typeof PARITY_CASES)[number]) {
  let model: HookedTransformer;
  beforeAll(() => {
    model = loadModel(c.dir).model;
  });
  afterAll(() => model.dispose());

  it(`${c.name}: ${NEW_TOKENS} greedy tokens equal full-forward decoding, logits within ${RTOL}`, async () => {
    const prompt = promptFor(model, 7, 23);
    // The full forwards build and keep the model's per-length mask / rotary tables; the cached pass keeps nothing.
    const full = await generateTokens(model, prompt, { maxNewTokens: NEW_TOKENS, kvCache: false, keepLogits: true });
    const before = tf.memory().numTensors;
    const cached = await generateTokens(model, prompt, { maxNewTokens: NEW_TOKENS, keepLogits: true });
    expect(cached.tokens).toEqual(full.tokens);
    expect(cached.tokens).toHaveLength(NEW_TOKENS);
    for (let s = 0; s < NEW_TOKENS; s++)
      expectClose(cached.logits[s]!, full.logits[s]!, { rtol: RTOL, label: `${c.name} step ${s} logits` });
    expect(tf.memory().numTensors, 'tensors left by cached decoding').toBe(before);
  }, 300_000); // a software WebGPU adapter (lavapipe) runs the 39 full forwards of pdlm-4l-256 slowly

  it(`${c.name}: sampled tokens (temperature 0.8, top-k 20, same seed) equal full-forward sampling`, async () => {
    const prompt = promptFor(model, 5, 7);
    const opts = { maxNewTokens: 12, temperature: 0.8, topK: 20, seed: 1234 };
    const full = await generateTokens(model, prompt, { ...opts, kvCache: false });
    const cached = await generateTokens(model, prompt, opts);
    expect(cached.tokens).toEqual(full.tokens);
  });

  it(`${c.name}: a prompt fed in two chunks gives the logits of one full pass`, async () => {
    const prompt = promptFor(model, 12, 99);
    const whole = model.forward([prompt]);
    const cache = new KvCache(model.cfg, 1, 12);
    const a = model.forward([prompt.slice(0, 5)], { kvCache: cache });
    const b = model.forward([prompt.slice(5)], { kvCache: cache });
    expect(cache.length).toBe(12);
    const joined = tf.concat([a.logits!, b.logits!], 1);
    expectClose(await joined.data(), await whole.logits!.data(), { rtol: RTOL, label: `${c.name} chunked prompt` });
    expect(() => model.forward([[1]], { kvCache: cache })).toThrow(/exceed its capacity of 12/);
    tf.dispose([whole.logits!, a.logits!, b.logits!, joined]);
    cache.dispose();
  });
}
