// Next-token choice from one position's logits: greedy (argmax) at temperature 0, otherwise a draw from
// softmax(logits / T), optionally over the top-k logits only, with a seeded MT19937 so that two continuations
// sampled with the same seed draw the same uniforms (steered and unsteered text differ only through the logits).
import { InputError } from '../errors';
import { Mt19937 } from '../data/random/mt19937';

export interface SamplingOptions {
  /** 0 (the default) is greedy decoding; > 0 divides the logits before the softmax. */
  temperature?: number;
  /** Sample among the k largest logits only (all when omitted). */
  topK?: number;
  /** Seed of the sampler's MT19937 (default 0). */
  seed?: number;
}

export function checkSamplingOptions(opts: SamplingOptions): void {
  const t = opts.temperature ?? 0;
  if (!Number.isFinite(t) || t < 0) throw new InputError(`temperature ${t}: expected a number ≥ 0 (0 is greedy)`);
  if (opts.topK !== undefined && (!Number.isInteger(opts.topK) || opts.topK < 1))
    throw new InputError(`topK ${opts.topK}: expected an integer ≥ 1`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new InputError(`seed ${seed}: expected an integer in 0..4294967295`);
}

/** Index of the largest value (the first on ties, as torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export class TokenSampler {
  private readonly rng: Mt19937;
  private readonly temperature: number;
  private readonly topK: number | undefined;

  constructor(opts: SamplingOptions = {}) {
    checkSamplingOptions(opts);
    this.rng = new Mt19937(opts.seed ?? 0);
    this.temperature = opts.temperature ?? 0;
    this.topK = opts.topK;
  }

  /** logits: [d_vocab] of the last position → the next token id. Draws one uniform per call when sampling. */
  next(logits: ArrayLike<number>): number {
    if (this.temperature === 0) return argmax(logits);
    const n = logits.length;
    let ids = Array.from({ length: n }, (_, i) => i);
    if (this.topK !== undefined && this.topK < n) {
      // Ties broken by index so the candidate set does not depend on the sort's stability.
      ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
      ids = ids.slice(0, this.topK);
    }
    let max = -Infinity;
    for (const i of ids) max = Math.max(max, logits[i]!);
    const weights = ids.map((i) => Math.exp((logits[i]! - max) / this.temperature)); // float64 softmax numerators
    const total = weights.reduce((a, b) => a + b, 0);
    const u = this.rng.nextFloat53() * total;
    let acc = 0;
    for (let j = 0; j < ids.length; j++) {
      acc += weights[j]!;
      if (u < acc) return ids[j]!;
    }
    return ids[ids.length - 1]!;
  }
}
