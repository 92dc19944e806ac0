// Autoregressive generation with the hooked transformer: incremental decoding through a KV cache (one
// forward of the prompt, then one position per new token), or repeated full forwards (the reference the cache
// is tested against). Hooks apply at every pass, so interventions such as steering act on generated tokens too.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookedTransformer, HookFn } from './hooked-transformer';
import { KvCache } from './kv-cache';
import { TokenSampler, type SamplingOptions } from './sampler';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Hook functions by hook name, applied at every pass (HookInfo.positionOffset gives absolute positions). */
  hooks?: Record<string, HookFn | HookFn[]>;
  /** Use the KV cache (default true); false re-runs the whole sequence for every token. */
  kvCache?: boolean;
  /** Stop after producing one of these ids (it is included in the output). */
  stopTokenIds?: number[];
  /** Called with each new token id and its step (0-based) as it is chosen. */
  onToken?: (id: number, step: number) => void;
  /** Return each step's last-position logits (for tests and diagnostics). */
  keepLogits?: boolean;
}

export interface GenerateResult {
  /** The new token ids (not the prompt). */
  tokens: number[];
  /** Per step, the logits [d_vocab] the token was chosen from (only with keepLogits). */
  logits: Float32Array[];
}

/** Generates up to maxNewTokens after `promptIds` (one sequence). */
export async function generateTokens(
  model: HookedTransformer,
  promptIds: readonly number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const { maxNewTokens } = opts;
  if (promptIds.length === 0) throw new InputError('prompt: no tokens, expected at least one');
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    throw new InputError(`maxNewTokens ${maxNewTokens}: expected an integer ≥ 1`);
  const total = promptIds.length + maxNewTokens;
  if (total > model.cfg.nCtx)
    throw new InputError(
      `prompt of ${promptIds.length} tokens + ${maxNewTokens} new tokens exceeds the model's context of ${model.cfg.nCtx}`,
    );
  const sampler = new TokenSampler(opts);
  const stop = new Set(opts.stopTokenIds ?? []);
  const cache = opts.kvCache === false ? null : new KvCache(model.cfg, 1, total);
  const seq = [...promptIds];
  const result: GenerateResult = { tokens: [], logits: [] };
  try {
    let input: number[] = seq;
    for (let step = 0; step < maxNewTokens; step++) {
      const last = lastLogits(model, input, opts.hooks, cache);
      const values = (await last.data()) as Float32Array;
      last.dispose();
      const id = sampler.next(values);
      if (opts.keepLogits) result.logits.push(values);
      result.tokens.push(id);
      seq.push(id);
      opts.onToken?.(id, step);
      if (stop.has(id)) break;
      input = cache ? [id] : seq;
    }
  } finally {
    cache?.dispose();
  }
  return result;
}

/** One forward of `ids` (the new positions when cached) → the last position's logits [d_vocab]. */
function lastLogits(
  model: HookedTransformer,
  ids: number[],
  hooks: GenerateOptions['hooks'],
  cache: KvCache | null,
): tf.Tensor1D {
  const out = model.forward([ids], { hooks, ...(cache ? { kvCache: cache } : {}) });
  const V = model.cfg.dVocab;
  const last = tf.tidy(() => out.logits!.slice([0, ids.length - 1, 0], [1, 1, V]).reshape([V]) as tf.Tensor1D);
  tf.dispose([out.logits!, ...Object.values(out.cache)]);
  return last;
}
