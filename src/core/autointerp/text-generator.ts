// Text generation from a local model with incremental decoding: one forward of the prompt into a KV cache, then
// one position per new token (src/core/lm/kv-cache.ts; greedy tokens equal those of repeated full forwards, which
// the tests check). Behind the small TextGenerator interface the pipeline uses.
import * as tf from '@tensorflow/tfjs-core';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { KvCache } from '../lm/kv-cache';
import type { ModelTokenizer } from '../lm/tokenizer';
import { SeededRandom } from './seeded-random';

export interface GenerateOptions {
  maxTokens: number;
  /** 0: greedy (argmax); above 0: softmax(logits / temperature) sampling from `seed`. */
  temperature: number;
  seed?: number;
  /** Token ids that end the answer (not included in it). */
  stopTokenIds?: readonly number[];
  /** Encode the prompt with the tokenizer's special tokens (e.g. a BOS) added (default true). */
  addSpecialTokens?: boolean;
  signal?: AbortSignal;
}

export interface TextGenerator {
  generate(prompt: string, opts: GenerateOptions): Promise<string>;
}

/** Index of the next token from one row of logits: [d_vocab]. */
function pickToken(row: Float32Array, temperature: number, rng: SeededRandom): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  if (temperature === 0) return best;
  const weights = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += weights[i] = Math.exp((row[i]! - row[best]!) / temperature);
  let u = (rng.below(2 ** 30) / 2 ** 30) * sum;
  for (let i = 0; i < row.length; i++) if ((u -= weights[i]!) < 0) return i;
  return best;
}

export class CachedGenerator implements TextGenerator {
  constructor(
    private readonly model: HookedTransformer,
    private readonly tokenizer: ModelTokenizer,
  ) {}

  /**
   * New token ids after `promptIds`. A prompt longer than the context keeps its last n_ctx − maxTokens tokens
   * (a small model's window cannot hold lm-saes's prompts whole), so prompt and answer always fit the cache.
   */
  async generateIds(promptIds: readonly number[], opts: GenerateOptions): Promise<number[]> {
    const nCtx = this.model.cfg.nCtx;
    const budget = Math.max(1, Math.min(opts.maxTokens, nCtx - 1));
    const ids = promptIds.slice(Math.max(0, promptIds.length - (nCtx - budget)));
    const stops = new Set(opts.stopTokenIds ?? []);
    const rng = new SeededRandom(opts.seed ?? 0);
    const out: number[] = [];
    const dVocab = this.model.cfg.dVocab;
    const cache = new KvCache(this.model.cfg, 1, ids.length + budget);
    try {
      let input = ids;
      while (out.length < budget) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        const step = input;
        const last = tf.tidy(() => {
          const { logits } = this.model.forward([step], { kvCache: cache }); // [1, new positions, d_vocab]
          return logits!
            .slice([0, step.length - 1, 0], [1, 1, dVocab])
            .reshape([dVocab])
            .toFloat(); // [d_vocab]
        });
        const row = (await last.data()) as Float32Array;
        last.dispose();
        const next = pickToken(row, opts.temperature, rng);
        if (stops.has(next)) break;
        out.push(next);
        input = [next];
      }
    } finally {
      cache.dispose();
    }
    return out;
  }

  async generate(prompt: string, opts: GenerateOptions): Promise<string> {
    const ids = this.tokenizer.encode(prompt, { addSpecialTokens: opts.addSpecialTokens ?? true });
    return this.tokenizer.decode(await this.generateIds(ids, opts), { skipSpecialTokens: true });
  }
}
