// Evaluation of a dictionary of any kind on held-out windows: EV and L0 per head / layer (lm-saes's forms), the
// kind's own metrics, and the LM's cross-entropy with the reconstructions spliced in at every non-BOS position,
// against the original model and against zero-ablation of the same outputs:
// CE loss recovered = (CE_zero − CE_dict) / (CE_zero − CE_orig).
//
// Splicing. A dictionary whose outputs are its inputs (an SAE, a crosscoder) is spliced in one shot: its outputs
// are computed from the clean run. A dictionary that replaces model components (a transcoder, a CLT, a Lorsa, a
// MoLT) is spliced sequentially, as the replacement model computes it: output t is computed from the inputs the
// model produces with outputs < t already replaced (nOut + 1 forward passes per batch), so a CLT's layer-3
// reconstruction reads the layer-0…2 inputs of the spliced model, not of the clean one.
import * as tf from '@tensorflow/tfjs-core';
import type { HookFn, HookedTransformer } from '../lm/hooked-transformer';
import { tokenLosses } from '../lm/cross-entropy';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import type { HostParams } from '../sae/host-tensor';
import { checkDictionaryHooks, kindOutputs, kindTensors } from './apply';
import type { DictionaryKind, KindConfigBase, KindMetrics } from './kind';

export interface KindEvalResult {
  sae_type: string;
  tokens: number;
  /** Mean over heads / layers of the per-axis EV (lm-saes's logged metrics/explained_variance). */
  explained_variance: number;
  explained_variance_per_axis: number[];
  /** The kind's L0: the CLT's sums its layers, a crosscoder's averages its heads. */
  l0: number;
  l0_per_axis: number[];
  /** Mean over tokens and outputs of Σ_d (y − ŷ)², raw units. */
  mse: number;
  dead_fraction: number;
  splice: 'one-shot' | 'sequential';
  ce_orig: number;
  ce_with_dictionary: number;
  ce_zero_ablation: number;
  ce_loss_recovered: number;
  /** The kind's own metrics (normalised space, lm-saes names), on the evaluation tokens. */
  metrics: KindMetrics;
}

/** Keeps position 0 (BOS) of `x` and takes `replacement` [B, S, d] elsewhere. */
export function spliceNonBos(x: tf.Tensor, replacement: Float32Array): tf.Tensor {
  return tf.tidy(() => {
    const [B, S, d] = x.shape as [number, number, number];
    const first = tf.slice(x, [0, 0, 0], [B, 1, d]);
    const rest = tf.slice(tf.tensor3d(replacement, [B, S, d]), [0, 1, 0], [B, S - 1, d]);
    return tf.concat([first, rest], 1);
  });
}

/** Output `t` of [rows, nOut, d] as its own [rows·d] array. */
export function outputSlice(recon: Float32Array, rows: number, nOut: number, t: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(recon.subarray((r * nOut + t) * d, (r * nOut + t + 1) * d), r * d);
  return out;
}

export async function meanLoss(logits: tf.Tensor3D, rows: TokenBatch): Promise<{ sum: number; count: number }> {
  const losses = tokenLosses(logits, rows);
  const values = (await losses.data()) as Float32Array;
  losses.dispose();
  let sum = 0;
  for (const v of values) sum += v;
  return { sum, count: values.length };
}

/**
 * The dictionary's outputs as spliced into the model: the clean run's (one shot), or output by output on the
 * inputs the model produces with the earlier outputs already replaced (sequential).
 */
async function splicedOutputs(
  model: HookedTransformer,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  tensors: Record<string, tf.Tensor>,
  rows: TokenBatch,
  acts: Record<string, Float32Array>,
  cleanRecon: Float32Array,
  sequential: boolean,
): Promise<Float32Array[]> {
  const hooksIn = kind.hooksIn(cfg);
  const hooksOut = kind.hooksOut(cfg);
  const nOut = hooksOut.length;
  const n = rows.batch * rows.seq;
  const d = cfg.d_model;
  const spliced = [outputSlice(cleanRecon, n, nOut, 0, d)];
  for (let t = 1; t < nOut; t++) {
    if (!sequential) {
      spliced.push(outputSlice(cleanRecon, n, nOut, t, d));
      continue;
    }
    const hooksSoFar: Record<string, HookFn> = {};
    for (let j = 0; j < t; j++) hooksSoFar[hooksOut[j]!] = (y) => spliceNonBos(y, spliced[j]!);
    const pass = model.forward(rows, { cache: hooksIn, hooks: hooksSoFar, logits: false });
    const inputs: Record<string, Float32Array> = { ...acts };
    for (const h of hooksIn) inputs[h] = (await pass.cache[h]!.data()) as Float32Array;
    tf.dispose(Object.values(pass.cache));
    const out = await kindOutputs(kind, cfg, tensors, inputs, n, rows.seq);
    spliced.push(outputSlice(out.recon, n, nOut, t, d));
  }
  return spliced;
}

/** Exact sums for EV (per output), L0 (per axis), MSE and firing; the kind's metrics weighted by tokens. */
interface EvalSums {
  resSq: Float64Array;
  sumY: Float64Array;
  sumYSq: Float64Array;
  active: Float64Array;
  fired: Uint8Array;
  tokens: number;
  metricSums: Record<string, number[]>;
}

function newSums(nOut: number, d: number, A: number, F: number): EvalSums {
  return {
    resSq: new Float64Array(nOut),
    sumY: new Float64Array(nOut * d),
    sumYSq: new Float64Array(nOut),
    active: new Float64Array(A),
    fired: new Uint8Array(F),
    tokens: 0,
    metricSums: {},
  };
}

/** Adds one batch's non-BOS rows of the clean run (lm-saes computes the kind's metrics per batch). */
function accumulate(
  sums: EvalSums,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  cleanOut: { featureActs: Float32Array; recon: Float32Array },
  acts: Record<string, Float32Array>,
  rows: TokenBatch,
): void {
  const hooksOut = kind.hooksOut(cfg);
  const nOut = hooksOut.length;
  const d = cfg.d_model;
  const A = kind.featureAxes(cfg);
  const F = cfg.d_sae;
  const S = rows.seq;
  const n = rows.batch * S;
  const { resSq, sumY, sumYSq, active, fired, metricSums } = sums;
  // Metrics on the clean run's non-BOS rows.
  const m = rows.batch * (S - 1);
  const fB = new Float64Array(m * A * F);
  const yHatB = new Float64Array(m * nOut * d);
  const yB = new Float64Array(m * nOut * d);
  let i = 0;
  for (let b = 0; b < rows.batch; b++) {
    for (let r = b * S + 1; r < (b + 1) * S; r++, i++) {
      fB.set(cleanOut.featureActs.subarray(r * A * F, (r + 1) * A * F), i * A * F);
      yHatB.set(cleanOut.recon.subarray(r * nOut * d, (r + 1) * nOut * d), i * nOut * d);
      hooksOut.forEach((h, t) => {
        const a = acts[h]!;
        const width = a.length / n;
        for (let c = 0; c < width; c++) yB[(i * nOut + t) * d + c] = a[r * width + c]!;
      });
    }
  }
  for (let e = 0; e < yB.length; e++) {
    const t = Math.floor(e / d) % nOut;
    resSq[t]! += (yHatB[e]! - yB[e]!) ** 2;
    sumY[t * d + (e % d)]! += yB[e]!;
    sumYSq[t]! += yB[e]! ** 2;
  }
  for (let e = 0; e < fB.length; e++)
    if (fB[e]! > 0) {
      active[Math.floor(e / F) % A]! += 1;
      fired[e % F] = 1;
    }
  const batchMetrics = kind.metrics(
    cfg,
    params,
    { featureActs: fB, hiddenPre: new Float64Array(0), recon: scaleOutputs(kind, cfg, yHatB, nOut, d) },
    scaleOutputs(kind, cfg, yB, nOut, d),
    m,
  );
  for (const [k, v] of Object.entries(batchMetrics)) {
    const vec = typeof v === 'number' ? [v] : v;
    const acc = (metricSums[k] ??= new Array<number>(vec.length).fill(0));
    vec.forEach((x, j) => (acc[j]! += x * m));
  }
  sums.tokens += m;
}

export async function evaluateKind(
  model: HookedTransformer,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  windows: TokenBatch,
  opts: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<KindEvalResult> {
  const hooks = checkDictionaryHooks(model, kind, cfg);
  const hooksIn = kind.hooksIn(cfg);
  const hooksOut = kind.hooksOut(cfg);
  const nOut = hooksOut.length;
  const d = cfg.d_model;
  const A = kind.featureAxes(cfg);
  const F = cfg.d_sae;
  const S = windows.seq;
  const sequential = !(hooksOut.length === hooksIn.length && hooksOut.every((h, i) => h === hooksIn[i]));
  const batchSize = opts.batchSize ?? Math.max(1, Math.floor(4096 / S));
  const tensors = kindTensors(kind, cfg, params);
  const ce = { orig: { sum: 0, count: 0 }, dict: { sum: 0, count: 0 }, zero: { sum: 0, count: 0 } };
  const sums = newSums(nOut, d, A, F);
  const add = (acc: { sum: number; count: number }, r: { sum: number; count: number }) => {
    acc.sum += r.sum;
    acc.count += r.count;
  };
  try {
    for (let start = 0; start < windows.batch; start += batchSize) {
      const rows = sliceRows(windows, start, batchSize);
      const n = rows.batch * S;
      const clean = model.forward(rows, { cache: hooks });
      add(ce.orig, await meanLoss(clean.logits!, rows));
      const acts: Record<string, Float32Array> = {};
      for (const h of hooks) acts[h] = (await clean.cache[h]!.data()) as Float32Array;
      tf.dispose([clean.logits!, ...Object.values(clean.cache)]);
      const cleanOut = await kindOutputs(kind, cfg, tensors, acts, n, S);

      const spliced = await splicedOutputs(model, kind, cfg, tensors, rows, acts, cleanOut.recon, sequential);
      const dictHooks: Record<string, HookFn> = {};
      const zeroHooks: Record<string, HookFn> = {};
      hooksOut.forEach((h, t) => {
        dictHooks[h] = (y) => spliceNonBos(y, spliced[t]!);
        zeroHooks[h] = (y) => spliceNonBos(y, new Float32Array(n * d));
      });
      for (const [acc, hooks] of [
        [ce.dict, dictHooks],
        [ce.zero, zeroHooks],
      ] as const) {
        const run = model.forward(rows, { hooks });
        add(acc, await meanLoss(run.logits!, rows));
        run.logits!.dispose();
      }

      accumulate(sums, kind, cfg, params, cleanOut, acts, rows);
      opts.onProgress?.(start + rows.batch, windows.batch);
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const { resSq, sumY, sumYSq, active, fired, tokens, metricSums } = sums;
  const ev = Array.from(resSq, (res, t) => {
    let meanSq = 0;
    for (let c = 0; c < d; c++) meanSq += (sumY[t * d + c]! / tokens) ** 2;
    return 1 - res / (sumYSq[t]! - tokens * meanSq);
  });
  const l0 = Array.from(active, (v) => v / tokens);
  const metrics: KindMetrics = {};
  for (const [k, acc] of Object.entries(metricSums)) {
    const mean = acc.map((x) => x / tokens);
    metrics[k] = mean.length === 1 ? mean[0]! : mean;
  }
  const mse = resSq.reduce((x, y) => x + y, 0);
  const ceOrig = ce.orig.sum / ce.orig.count;
  const ceDict = ce.dict.sum / ce.dict.count;
  const ceZero = ce.zero.sum / ce.zero.count;
  const l0Kind = typeof metrics['metrics/l0'] === 'number' ? metrics['metrics/l0'] : l0.reduce((a, b) => a + b, 0) / A;
  return {
    sae_type: kind.saeType,
    tokens,
    explained_variance: ev.reduce((a, b) => a + b, 0) / ev.length,
    explained_variance_per_axis: ev,
    l0: l0Kind,
    l0_per_axis: l0,
    mse: mse / (tokens * nOut),
    dead_fraction: fired.reduce((n, v) => n + (v ? 0 : 1), 0) / F,
    splice: sequential ? 'sequential' : 'one-shot',
    ce_orig: ceOrig,
    ce_with_dictionary: ceDict,
    ce_zero_ablation: ceZero,
    ce_loss_recovered: (ceZero - ceDict) / (ceZero - ceOrig),
    metrics,
  };
}

/** Raw outputs [tokens, nOut, d] into the dictionary's normalised space (dataset-wise scales; 1 for inference). */
function scaleOutputs(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  raw: Float64Array,
  nOut: number,
  d: number,
): Float64Array {
  if (cfg.norm_activation !== 'dataset-wise') return raw;
  const scales = kind.hooksOut(cfg).map((h) => Math.sqrt(cfg.d_model) / cfg.dataset_average_activation_norm![h]!);
  return raw.map((v, i) => v * scales[Math.floor(i / d) % nOut]!);
}
