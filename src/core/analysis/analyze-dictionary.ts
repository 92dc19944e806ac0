// The feature-analysis pass: one stream over the dataset's windows (model → hook_point_in → dictionary, a batch
// of windows at a time, activations read back once per batch as sparse non-zeros) feeding every feature's
// statistics and samples at once (feature-accumulator.ts), then direct logit attribution and decoder
// neighbours from the weights. Memory stays bounded whatever nTokens is (see feature-accumulator.ts).
import * as tf from '@tensorflow/tfjs-core';
import { spoolKey, type RowSpool } from '../activations/row-spool';
import { countKept, tokenMask, type TokenMaskOptions } from '../data/masks';
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import { datasetScale, type SparseDictionary } from '../sae/sparse-dictionary';
import { decoderNeighbours, type Neighbours } from './decoder-neighbours';
import { directLogitAttribution, type LogitRanking } from './direct-logit-attribution';
import { dictionaryInput } from './dictionary-input';
import { FeatureAccumulator } from './feature-accumulator';
import { resolveSamplingConfig, type SamplingConfig } from './sampling-config';
import { encodeRowsSparse, encodeSparse, type SparseActs } from './sparse-activations';
import type { AnalysisResult, LogitEntry } from './types';

/** Labels token ids for display (ModelTokenizer has it). */
export interface TokenLabeler {
  tokenStrings(ids: number[]): string[];
}

export interface AnalysisInfo {
  dictionaryName: string;
  dictionaryDir: string;
  modelName: string;
  dataset: { spec: string; split: string; contextSize: number };
}

export interface AnalysisProgress {
  phase: 'activations' | 'logits' | 'neighbours';
  /** Tokens analysed so far (activations), or 0/1 around the weight-only phases. */
  done: number;
  total: number;
  /** Samples and contexts held by the streaming state (bounded by the sampling config and d_sae). */
  retainedSamples: number;
  retainedContexts: number;
}

export interface AnalyzeOptions {
  model: HookedTransformer;
  dictionary: SparseDictionary;
  /** Windows of the dataset (BOS first); context i of the result is window i. */
  windows: TokenBatch;
  /** Labels the direct-logit-attribution tokens; null labels them by id. */
  tokenizer: TokenLabeler | null;
  /**
   * Tokens to analyse (after masking); whole windows are taken from the start until this many are reached, so
   * up to one window more (Infinity: every window).
   */
  nTokens: number;
  /** Windows per model batch (default 4: on wasm, larger batches were no faster on pdlm-4l-256). */
  batchWindows?: number;
  /** Positions left out (default: position 0 of each window). */
  mask?: TokenMaskOptions;
  samplingConfig?: Partial<SamplingConfig>;
  /** Top and bottom logits per feature (default 10) and decoder neighbours per feature (default 10). */
  logitCount?: number;
  neighbourCount?: number;
  /** Names stored with the result (defaults: empty names, the dictionary's model_name, this window size). */
  info?: Partial<AnalysisInfo>;
  onProgress?: (p: AnalysisProgress) => void;
  signal?: AbortSignal;
  /**
   * hook_point_in's rows of an earlier pass over these windows with this mask (the training run's): windows it
   * holds are read back instead of running the model (the same values: that pass computed them).
   */
  spool?: RowSpool;
}

export async function analyzeDictionary(opts: AnalyzeOptions): Promise<AnalysisResult> {
  const { model, dictionary: dict, windows } = opts;
  const cfg = dict.cfg;
  const S = windows.seq;
  if (!((Number.isInteger(opts.nTokens) && opts.nTokens > 0) || opts.nTokens === Infinity))
    throw new InputError(`nTokens: ${opts.nTokens} is invalid, expected a positive integer or Infinity`);
  const spool = servingSpool(opts);
  // Spooled rows need no forward pass: larger batches make fewer, larger encoder calls.
  const batchWindows = opts.batchWindows ?? (spool ? 64 : 4);
  if (!(Number.isInteger(batchWindows) && batchWindows > 0))
    throw new InputError(`batchWindows: ${batchWindows} is invalid, expected a positive integer`);
  const sampling = resolveSamplingConfig(opts.samplingConfig);
  const acc = new FeatureAccumulator(cfg.d_sae, sampling);
  const progress = (phase: AnalysisProgress['phase'], done: number, total: number) =>
    opts.onProgress?.({
      phase,
      done,
      total,
      retainedSamples: acc.retainedSamples,
      retainedContexts: acc.retainedContexts,
    });

  const selected = selectWindows(windows, opts.nTokens, opts.mask);
  let tokens = 0;
  // A batch's spooled rows, read into the same buffer batch after batch (encodeRowsSparse scales them in place).
  let rowBuffer: Float32Array = new Float32Array(0);
  for (let next = 0; next < selected.windows; next += batchWindows) {
    opts.signal?.throwIfAborted();
    const batch = sliceRows(windows, next, Math.min(batchWindows, selected.windows - next));
    const mask = selected.mask.subarray(next * S, (next + batch.batch) * S);
    const keep = flatKept(mask); // flat positions of the analysed tokens, row-major
    const spooled = spool?.readHook(cfg.hook_point_in, next, next + batch.batch, rowBuffer) ?? undefined;
    if (spooled && spooled.buffer !== rowBuffer.buffer) rowBuffer = spooled;
    if (keep.length > 0) await analyzeBatch(model, dict, acc, batch, keep, next, spooled);
    tokens += keep.length;
    progress('activations', tokens, selected.tokens);
  }

  const result = acc.finish(tokens);
  const W_D = dict.params.W_D as tf.Tensor2D | undefined;
  const logitCount = opts.logitCount ?? 10;
  let dla: LogitRanking | null = null;
  if (W_D && W_D.shape[1] === model.cfg.dModel && logitCount > 0) {
    opts.signal?.throwIfAborted();
    progress('logits', 0, 1);
    dla = await directLogitAttribution(model, W_D, { k: logitCount, scale: 1 / datasetScale(cfg, cfg.hook_point_out) });
  }
  const neighbourCount = opts.neighbourCount ?? 10;
  let nb: Neighbours | null = null;
  if (W_D && neighbourCount > 0) {
    opts.signal?.throwIfAborted();
    progress('neighbours', 0, 1);
    nb = await decoderNeighbours(W_D, { m: neighbourCount });
  }
  const label = labeler(opts.tokenizer);
  const logits = (ids: Int32Array, values: Float32Array, f: number, k: number): LogitEntry[] =>
    Array.from(ids.subarray(f * k, (f + 1) * k), (tokenId, j) => ({
      tokenId,
      token: label(tokenId),
      logit: values[f * k + j]!,
    }));

  return {
    dictionaryName: opts.info?.dictionaryName ?? '',
    dictionaryDir: opts.info?.dictionaryDir ?? '',
    modelName: opts.info?.modelName ?? cfg.model_name ?? '',
    hookPointIn: cfg.hook_point_in,
    hookPointOut: cfg.hook_point_out,
    dSae: cfg.d_sae,
    dataset: opts.info?.dataset ?? { spec: '', split: 'all', contextSize: S },
    tokensAnalysed: tokens,
    createdAt: new Date().toISOString(),
    contexts: result.contexts,
    features: result.features.map((f) => ({
      ...f,
      topLogits: dla ? logits(dla.topIds, dla.topLogits, f.index, dla.k) : [],
      bottomLogits: dla ? logits(dla.bottomIds, dla.bottomLogits, f.index, dla.k) : [],
      neighbours: nb
        ? Array.from(nb.index.subarray(f.index * nb.m, (f.index + 1) * nb.m), (index, j) => ({
            index,
            cosine: nb.cosine[f.index * nb.m + j]!,
          }))
        : [],
    })),
  };
}

/** Encodes the kept positions of a batch of windows and feeds each window's non-zeros to the accumulator. */
async function analyzeBatch(
  model: HookedTransformer,
  dict: SparseDictionary,
  acc: FeatureAccumulator,
  batch: TokenBatch,
  keep: Int32Array,
  firstContext: number,
  spooled?: Float32Array,
): Promise<void> {
  let acts;
  if (spooled) {
    const d = dict.cfg.d_model;
    if (spooled.length !== keep.length * d)
      throw new Error(`spooled rows: ${spooled.length / d} rows for ${keep.length} analysed tokens (the masks differ)`);
    // Scaled into the dictionary's normalised space as dictionaryInput scales the model's rows.
    acts = await encodeRowsSparse(dict, spooled, keep.length, datasetScale(dict.cfg, dict.cfg.hook_point_in));
  } else {
    const x = dictionaryInput(model, dict, batch, keep); // [kept, d_in]
    try {
      acts = await encodeSparse(dict, x);
    } finally {
      x.dispose();
    }
  }
  feedWindows(acc, batch, keep, acts, firstContext);
}

/** The spool, when it holds this analysis's rows (same windows, mask and hook point). */
function servingSpool(opts: AnalyzeOptions): RowSpool | null {
  const hook = opts.dictionary.cfg.hook_point_in;
  const spool = opts.spool;
  return spool && spool.serves(spoolKey(opts.windows, opts.mask ?? {}, [hook]), hook) ? spool : null;
}

/** Feeds each window's non-zeros of `acts` (one row per kept flat position in `keep`) to the accumulator. */
export function feedWindows(
  acc: FeatureAccumulator,
  batch: TokenBatch,
  keep: Int32Array,
  acts: SparseActs,
  firstContext: number,
): void {
  const S = batch.seq;
  const { rowPtr, feature, value } = acts;
  if (positionScratch.length < feature.length) positionScratch = new Int32Array(feature.length);
  const position = positionScratch; // position within its window of every non-zero (the accumulator copies what it keeps)
  for (let r = 0; r < acts.rows; r++) position.fill(keep[r]! % S, rowPtr[r]!, rowPtr[r + 1]!);
  let r0 = 0;
  for (let w = 0; w < batch.batch; w++) {
    let r1 = r0;
    while (r1 < keep.length && keep[r1]! < (w + 1) * S) r1++;
    if (r1 > r0)
      acc.addWindow(
        firstContext + w,
        batch.ids.subarray(w * S, (w + 1) * S),
        feature,
        position,
        value,
        rowPtr[r0]!,
        rowPtr[r1]!,
      );
    r0 = r1;
  }
}

/** feedWindows's positions, reused from batch to batch (fresh ones per batch are garbage the collector marks for). */
let positionScratch: Int32Array = new Int32Array(0);

/** The first windows whose analysed tokens reach nTokens, their mask ([windows * S]) and token count. */
export function selectWindows(
  windows: TokenBatch,
  nTokens: number,
  maskOpts: TokenMaskOptions | undefined,
): { windows: number; tokens: number; mask: Uint8Array } {
  const S = windows.seq;
  const chunk = 1024;
  const parts: Uint8Array[] = [];
  let count = 0;
  let tokens = 0;
  for (let w = 0; w < windows.batch && tokens < nTokens; w += chunk) {
    const m = tokenMask(sliceRows(windows, w, chunk), maskOpts);
    let used = 0;
    while (used * S < m.length && tokens < nTokens) {
      for (let i = used * S; i < (used + 1) * S; i++) tokens += m[i]!;
      used++;
    }
    parts.push(m.subarray(0, used * S));
    count += used;
  }
  const mask = new Uint8Array(count * S);
  parts.reduce((at, p) => (mask.set(p, at), at + p.length), 0);
  return { windows: count, tokens, mask };
}

/** The flat positions of the set entries of `mask`. */
export function flatKept(mask: Uint8Array): Int32Array {
  const keep = new Int32Array(countKept(mask));
  for (let i = 0, r = 0; i < mask.length; i++) if (mask[i]) keep[r++] = i;
  return keep;
}

export function labeler(tokenizer: TokenLabeler | null): (id: number) => string {
  const cache = new Map<number, string>();
  return (id) => {
    let s = cache.get(id);
    if (s === undefined) {
      s = tokenizer ? (tokenizer.tokenStrings([id])[0] ?? `<${id}>`) : `<${id}>`;
      cache.set(id, s);
    }
    return s;
  };
}
