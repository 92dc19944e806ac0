// Steered and unsteered continuations of one prompt with the same sampler seed, and the feature's activation on
// every token of each (the dictionary re-encoding its hooks, with the steering in place for the steered one).
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { checkDictionaryHooks, kindOutputs } from '../dictionary/apply';
import { kindTensors } from '../dictionary/apply';
import { generateTokens } from '../lm/generate';
import type { HookedTransformer, HookFn } from '../lm/hooked-transformer';
import type { SteeringSettings } from '../../protocol/steering';
import { steeringTarget, type DictionaryLike } from './feature-direction';
import { positionSelector, steeringHooks } from './steering-hooks';

export interface Continuation {
  /** prompt + continuation ids. */
  ids: number[];
  /** The feature's activation at each of `ids`. */
  activations: number[];
}

export interface SteerResult {
  hooks: string[];
  promptLength: number;
  steeredPositions: number[];
  unsteered: Continuation;
  steered: Continuation;
}

/**
 * The feature's activation on every position of `ids` [one sequence], with `hooks` applied: for a crosscoder the
 * largest over its heads, for a CLT feature s·F + i its layer s's activation, else the dictionary's own.
 */
export async function featureActivations(
  model: HookedTransformer,
  dict: DictionaryLike,
  feature: number,
  ids: number[],
  hooks: Record<string, HookFn> = {},
): Promise<number[]> {
  const names = checkDictionaryHooks(model, dict.kind, dict.cfg);
  const out = model.forward([ids], { cache: names, hooks, logits: false });
  const acts: Record<string, Float32Array> = {};
  for (const h of names) acts[h] = (await out.cache[h]!.data()) as Float32Array;
  tf.dispose(Object.values(out.cache));
  const tensors = kindTensors(dict.kind, dict.cfg, dict.params);
  try {
    const S = ids.length;
    const r = await kindOutputs(dict.kind, dict.cfg, tensors, acts, S, S);
    const A = dict.kind.featureAxes(dict.cfg);
    const F = dict.cfg.d_sae;
    return Array.from({ length: S }, (_, p) => {
      if (dict.kind.saeType === 'clt') return r.featureActs[p * A * F + feature]!;
      let best = -Infinity;
      for (let a = 0; a < A; a++) best = Math.max(best, r.featureActs[(p * A + a) * F + feature]!);
      return best;
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** Generates the unsteered and the steered continuation of `promptIds` with the same sampling settings. */
export async function steerContinuation(
  model: HookedTransformer,
  dict: DictionaryLike,
  feature: number,
  promptIds: number[],
  settings: SteeringSettings,
  opts: { stopTokenIds?: number[] } = {},
): Promise<SteerResult> {
  if (promptIds.length === 0) throw new InputError('prompt: no tokens, expected some text');
  checkDictionaryHooks(model, dict.kind, dict.cfg);
  const target = steeringTarget(dict, feature);
  const total = promptIds.length + settings.maxNewTokens;
  const selected = positionSelector(settings.positions, promptIds.length, total);
  const hooks = steeringHooks(target, settings, selected);
  const sampling = {
    maxNewTokens: settings.maxNewTokens,
    temperature: settings.temperature,
    topK: settings.topK,
    seed: settings.seed,
    stopTokenIds: opts.stopTokenIds,
  };
  const plain = await generateTokens(model, promptIds, sampling);
  const steered = await generateTokens(model, promptIds, { ...sampling, hooks });
  const plainIds = [...promptIds, ...plain.tokens];
  const steeredIds = [...promptIds, ...steered.tokens];
  return {
    hooks: target.writes.map((w) => w.hook),
    promptLength: promptIds.length,
    steeredPositions: steeredIds.map((_, p) => p).filter(selected),
    unsteered: { ids: plainIds, activations: await featureActivations(model, dict, feature, plainIds) },
    steered: { ids: steeredIds, activations: await featureActivations(model, dict, feature, steeredIds, hooks) },
  };
}
