// Generation through the KV cache on pdlm-4l-256: greedy tokens are each step's argmax of a full forward (continuing from a
// prefix of the answer gives the rest of it), stop tokens end the answer, and a prompt longer than the context keeps
// its end.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedGenerator } from '../../../src/core/autointerp';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { initBackend } from '../../../src/core/tensor/backend';
import { PDLM_DIR } from '../../helpers/fixtures';

describe('text generation with the KV cache', () => {
  let model: HookedTransformer;
  let gen: CachedGenerator;
  let tokenizer: ModelTokenizer;

  beforeAll(async () => {
    await initBackend('cpu');
    model = loadModel(PDLM_DIR).model;
    tokenizer = ModelTokenizer.load(PDLM_DIR);
    gen = new CachedGenerator(model, tokenizer);
  });
  afterAll(() => model?.dispose());

  it('greedy: each token is the argmax of a full forward over the text so far', async () => {
    const prompt = tokenizer.encode('Once upon a time, the little');
    const out = await gen.generateIds(prompt, { maxTokens: 5, temperature: 0 });
    expect(out).toHaveLength(5);
    const ids = [...prompt];
    for (const expected of out) {
      const argmax = tf.tidy(() =>
        model
          .forward([ids])
          .logits!.slice([0, ids.length - 1, 0], [1, 1, -1])
          .argMax(-1),
      );
      expect((await argmax.data())[0]).toBe(expected);
      argmax.dispose();
      ids.push(expected);
    }
    // The model keeps a causal mask per sequence length it has seen; the lengths above are all seen by now.
    const before = tf.memory().numTensors;
    expect(await gen.generateIds([...prompt, ...out.slice(0, 2)], { maxTokens: 3, temperature: 0 })).toEqual(
      out.slice(2),
    );
    expect(tf.memory().numTensors, 'tensors left by a generation').toBe(before);
  });

  it('stops before a stop token, and keeps the end of a prompt longer than the context', async () => {
    const prompt = tokenizer.encode('The cat sat on the mat.');
    const out = await gen.generateIds(prompt, { maxTokens: 4, temperature: 0 });
    expect(await gen.generateIds(prompt, { maxTokens: 4, temperature: 0, stopTokenIds: [out[1]!] })).toEqual(
      out[0] === out[1] ? [] : out.slice(0, 1),
    );
    const long = Array.from({ length: 600 }, (_, i) => prompt[i % prompt.length]!);
    const tail = long.slice(long.length - (model.cfg.nCtx - 3));
    expect(await gen.generateIds(long, { maxTokens: 3, temperature: 0 })).toEqual(
      await gen.generateIds(tail, { maxTokens: 3, temperature: 0 }),
    );
  });

  it('sampling with a temperature is reproducible from its seed', async () => {
    const prompt = tokenizer.encode('Hello');
    const a = await gen.generate('Hello', { maxTokens: 4, temperature: 1, seed: 3 });
    expect(await gen.generate('Hello', { maxTokens: 4, temperature: 1, seed: 3 })).toBe(a);
    expect(prompt.length).toBeGreaterThan(0);
  });
});
