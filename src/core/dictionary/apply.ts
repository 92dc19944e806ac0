// Runs a dictionary of any kind on a model's own activations: one LM pass captures every hook the dictionary
// reads and writes, the inputs are normalised as lm-saes normalises them (√d/mean‖x‖ per hook for dataset-wise,
// √d/‖x‖ per token for token-wise, nothing for inference), stacked on the kind's head/layer axis (a narrower hook
// zero-padded to d_model), and passed through the kind's tensor forward. Feature activations are returned as the
// dictionary computes them (normalised space); reconstructions are mapped back into each output hook's raw space.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import type { HostParams } from '../sae/host-tensor';
import type { DictionaryKind, KindConfigBase } from './kind';

/** c_hook for dataset-wise normalisation (1 for inference); token-wise is per token (see hookScales). */
export function datasetHookScale(cfg: KindConfigBase, hook: string): number {
  if (cfg.norm_activation !== 'dataset-wise') return 1;
  const avg = cfg.dataset_average_activation_norm?.[hook];
  if (avg === undefined)
    throw new InputError(
      `field 'dataset_average_activation_norm': no norm for '${hook}' (needed by norm_activation 'dataset-wise')`,
    );
  return Math.sqrt(cfg.d_model) / avg;
}

/** The factor each of `rows` rows of `acts` [rows, width] is multiplied by before the dictionary sees it. */
export function hookScales(
  cfg: KindConfigBase,
  hook: string,
  acts: Float32Array,
  rows: number,
  width: number,
): Float64Array {
  const out = new Float64Array(rows);
  if (cfg.norm_activation === 'token-wise' || cfg.norm_activation === 'batch-wise') {
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < width; c++) s += acts[r * width + c]! ** 2;
      out[r] = Math.sqrt(s);
      total += out[r]!;
    }
    const mean = total / rows;
    for (let r = 0; r < rows; r++) {
      const norm = cfg.norm_activation === 'token-wise' ? out[r]! : mean;
      out[r] = norm > 0 ? Math.sqrt(cfg.d_model) / norm : 1;
    }
    return out;
  }
  return out.fill(datasetHookScale(cfg, hook));
}

/** Stacks hooks into [rows, hooks.length, d] (scaled, zero-padded to d). */
export function stackHooks(
  hooks: readonly string[],
  acts: Record<string, Float32Array>,
  scales: Record<string, Float64Array>,
  rows: number,
  d: number,
): Float32Array {
  const out = new Float32Array(rows * hooks.length * d);
  hooks.forEach((hook, h) => {
    const a = acts[hook]!;
    const width = a.length / rows;
    if (width > d) throw new InputError(`hook '${hook}' is ${width} wide, wider than the dictionary's d_model ${d}`);
    const s = scales[hook]!;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < width; c++) out[(r * hooks.length + h) * d + c] = a[r * width + c]! * s[r]!;
  });
  return out;
}

/** The kind's parameters and buffers as tensors on the active backend (the caller disposes them). */
export function kindTensors(kind: DictionaryKind, cfg: KindConfigBase, params: HostParams): Record<string, tf.Tensor> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(params)) tensors[n] = tf.tensor(t.data, t.shape);
  for (const [n, b] of Object.entries(kind.buffers(cfg)))
    if (!tensors[n]) tensors[n] = tf.tensor(Float32Array.from(b.data as ArrayLike<number>, Number), [...b.shape]);
  return tensors;
}

export interface KindOutputs {
  /** [rows, A, F], normalised space. */
  featureActs: Float32Array;
  /** [rows, nOut, d], raw space of each output hook. */
  recon: Float32Array;
}

/**
 * The dictionary on raw hook activations `acts` (rows = B·S token rows, sequences of S in order): normalised per
 * hook, stacked, through the kind's tensor forward, reconstructions mapped back to each output hook's raw space.
 */
export async function kindOutputs(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  tensors: Record<string, tf.Tensor>,
  acts: Record<string, Float32Array>,
  rows: number,
  S: number,
): Promise<KindOutputs> {
  const d = cfg.d_model;
  const hooksIn = kind.hooksIn(cfg);
  const hooksOut = kind.hooksOut(cfg);
  const scales: Record<string, Float64Array> = {};
  for (const h of new Set([...hooksIn, ...hooksOut]))
    scales[h] = hookScales(cfg, h, acts[h]!, rows, acts[h]!.length / rows);
  const x = stackHooks(hooksIn, acts, scales, rows, d);
  const fwd = tf.tidy(() => {
    const r = kind.tf.forward(cfg, tensors, tf.tensor3d(x, [rows, hooksIn.length, d]), {
      seqLen: kind.needsSequences ? S : 1,
      training: false,
    });
    return [r.featureActs, r.recon];
  });
  const [featureActs, y] = (await Promise.all(fwd.map((t) => t.data()))) as [Float32Array, Float32Array];
  tf.dispose(fwd);
  hooksOut.forEach((h, t) => {
    const s = scales[h]!;
    for (let r = 0; r < rows; r++) for (let c = 0; c < d; c++) y[(r * hooksOut.length + t) * d + c]! /= s[r]!;
  });
  return { featureActs, recon: y };
}

export interface AppliedDictionary {
  /** [B, S, A, F] */
  featureActs: Float32Array;
  /** [B, S, nOut, d], raw space of each output hook. */
  recon: Float32Array;
  axes: number;
  nOut: number;
}

/** Runs the model on `ids` and the dictionary on its activations, `batchSize` sequences at a time. */
export async function applyDictionary(
  model: HookedTransformer,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  ids: TokenBatch,
  opts: { batchSize?: number } = {},
): Promise<AppliedDictionary> {
  const hooks = checkDictionaryHooks(model, kind, cfg);
  const d = cfg.d_model;
  const A = kind.featureAxes(cfg);
  const nOut = kind.hooksOut(cfg).length;
  const F = cfg.d_sae;
  const S = ids.seq;
  const batchSize = opts.batchSize ?? ids.batch;
  const featureActs = new Float32Array(ids.batch * S * A * F);
  const recon = new Float32Array(ids.batch * S * nOut * d);
  const tensors = kindTensors(kind, cfg, params);
  try {
    for (let start = 0; start < ids.batch; start += batchSize) {
      const rowsIds = sliceRows(ids, start, batchSize);
      const out = model.forward(rowsIds, { cache: hooks, logits: false });
      const acts: Record<string, Float32Array> = {};
      for (const h of hooks) acts[h] = (await out.cache[h]!.data()) as Float32Array;
      tf.dispose(Object.values(out.cache));
      const r = await kindOutputs(kind, cfg, tensors, acts, rowsIds.batch * S, S);
      featureActs.set(r.featureActs, start * S * A * F);
      recon.set(r.recon, start * S * nOut * d);
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { featureActs, recon, axes: A, nOut };
}

/** Every hook the dictionary reads or writes, checked against the model's hooks; in first-use order. */
export function checkDictionaryHooks(model: HookedTransformer, kind: DictionaryKind, cfg: KindConfigBase): string[] {
  const hooks = [...new Set([...kind.hooksIn(cfg), ...kind.hooksOut(cfg)])];
  const known = new Set(model.hookNames);
  for (const h of hooks)
    if (!known.has(h))
      throw new InputError(`hook '${h}' of the dictionary is not a hook of the model (see lm forward --list-hooks)`);
  kind.fitsModel?.(cfg, model.cfg);
  return hooks;
}
