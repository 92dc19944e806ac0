// Text generation from a local model by repeated full forward passes (no KV cache): each new token runs the whole
// sequence again. Behind the small TextGenerator interface so that incremental decoding with a KV cache can take
// its place without touching the pipeline.
import * as tf from '@tensorflow/tfjs-core';
import type { HookedTransformer } from '../lm/hooked-transformer';
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

export class FullForwardGenerator implements TextGenerator {
  constructor(
    private readonly model: HookedTransformer,
    private readonly tokenizer: ModelTokenizer,
  ) {}

  /**
   * New token ids after `promptIds`. A prompt longer than the context keeps its last n_ctx − maxTokens tokens
   * (a small model's window cannot hold lm-saes's prompts whole).
   */
  async generateIds(promptIds: readonly number[], opts: GenerateOptions): Promise<number[]> {
    const nCtx = this.model.cfg.nCtx;
    const budget = Math.max(1, Math.min(opts.maxTokens, nCtx - 1));
    const ids = promptIds.slice(Math.max(0, promptIds.length - (nCtx - budget)));
    const stops = new Set(opts.stopTokenIds ?? []);
    const rng = new SeededRandom(opts.seed ?? 0);
    const out: number[] = [];
    const dVocab = this.model.cfg.dVocab;
    while (out.length < budget) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const last = tf.tidy(() => {
        const { logits } = this.model.forward([ids]); // [1, seq, d_vocab]
        return logits!
          .slice([0, ids.length - 1, 0], [1, 1, dVocab])
          .reshape([dVocab])
          .toFloat(); // [d_vocab]
      });
      const row = (await last.data()) as Float32Array;
      last.dispose();
      const next = pickToken(row, opts.temperature, rng);
      if (stops.has(next)) break;
      out.push(next);
      ids.push(next);
      if (ids.length >= nCtx) ids.shift();
    }
    return out;
  }

  async generate(prompt: string, opts: GenerateOptions): Promise<string> {
    const ids = this.tokenizer.encode(prompt, { addSpecialTokens: opts.addSpecialTokens ?? true });
    return this.tokenizer.decode(await this.generateIds(ids, opts), { skipSpecialTokens: true });
  }
}
