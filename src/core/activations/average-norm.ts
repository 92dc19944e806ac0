// Dataset-wise normalisation (lm-saes `norm_activation: dataset-wise`): inputs are scaled by
// sqrt(d_model) / E‖x‖, with E‖x‖ the mean L2 norm of a hook's activations over a sample of tokens.
// lm-saes (`calculate_activation_norm`) averages the norms of the first 8 batches of its activation stream; here
// the sample is the first `nTokens` kept tokens of the windows, in window order, from a pass of its own, so the
// training stream is neither consumed nor disturbed.
import type { TokenMaskOptions } from '../data/masks';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';
import { InputError } from '../errors';
import { checkCount, checkHookPoints } from './checks';
import type { RowGroup } from './group-batcher';
import { checkWindows, hookWidths, keptRows } from './model-rows';
import type { RowSpool } from './row-spool';
import type { ActivationStream } from './types';
import { entryOf } from '../util/lookup';

export interface AverageNorm {
  /** Mean L2 norm per hook point. */
  norms: Record<string, number>;
  /** Mean activation vector per hook point (raw, unnormalised), e.g. to initialise a decoder bias. */
  means: Record<string, Float32Array>;
  /** Tokens the means were taken over (fewer than asked when the windows ran out). */
  tokens: number;
}

export interface AverageNormOptions {
  model: HookedTransformer;
  windows: TokenBatch;
  hookPoints: string[];
  mask?: TokenMaskOptions;
  /** Kept tokens to average over, e.g. 8 × 4096. */
  nTokens: number;
  modelBatchSize: number;
  /**
   * Keeps every pass's rows (whole windows, the last pass's beyond the sample too) for a later reader: the
   * training stream then reads them back instead of running the model again.
   */
  spool?: RowSpool;
}

export async function estimateAverageNorm(opts: AverageNormOptions): Promise<AverageNorm> {
  checkHookPoints(opts.hookPoints);
  checkCount(opts.nTokens, 'n_tokens');
  checkCount(opts.modelBatchSize, 'model_batch_size');
  checkWindows(opts.model, opts.windows);
  const dims = await hookWidths(opts.model, opts.hookPoints);
  const sums = hookSums(opts.hookPoints, dims);
  let tokens = 0;
  // Windows are read a pass's worth at a time so that no more than one pass beyond the sample is computed.
  const step = opts.modelBatchSize;
  // A pass's arrays serve the next one once nothing reads them any more: at once without a spool or with one that
  // copies on append (fresh 4 MB arrays a pass cost their page faults), else never (its writes read them later).
  const reuse = !opts.spool || opts.spool.copiesOnAppend;
  let spent: RowGroup | undefined;
  for (let start = 0; start < opts.windows.batch && tokens < opts.nTokens; start += step) {
    const end = Math.min(opts.windows.batch, start + step);
    const part = await keptRows(opts.model, opts.windows, start, end, {
      hookPoints: opts.hookPoints,
      dims,
      mask: opts.mask ?? {},
      modelBatchSize: step,
      ...(opts.spool ? {} : { maxRows: opts.nTokens - tokens }),
      ...(spent ? { recycle: spent } : {}),
    });
    // The spool writes this pass's rows in the background while they are summed and the next pass runs.
    const spooled = opts.spool?.append(start, end - start, part);
    const rows = Math.min(part.rows, opts.nTokens - tokens);
    accumulate(sums, part.acts, rows);
    tokens += rows;
    await spooled;
    if (reuse) spent = part;
  }
  await opts.spool?.flush();
  return finish(sums, tokens);
}

/** The same estimate over the first `nTokens` rows of a stream (which it consumes: pass a stream of its own). */
export async function averageNormOfStream(stream: ActivationStream, nTokens: number): Promise<AverageNorm> {
  checkCount(nTokens, 'n_tokens');
  const sums = hookSums(stream.hookPoints, stream.dims);
  let tokens = 0;
  while (tokens < nTokens) {
    const batch = await stream.next();
    if (!batch) break;
    const rows = Math.min(batch.rows, nTokens - tokens);
    accumulate(sums, batch.acts, rows);
    tokens += rows;
  }
  return finish(sums, tokens);
}

/** The factor lm-saes multiplies inputs by: sqrt(d_model) / mean ‖x‖. */
export function datasetNormScale(averageNorm: number, dModel: number): number {
  if (!(averageNorm > 0) || !Number.isFinite(averageNorm))
    throw new InputError(`average activation norm ${averageNorm}: expected a finite number > 0`);
  return Math.sqrt(dModel) / averageNorm;
}

/**
 * Adds the first `rows` rows of acts [*, d] into acc and returns Σ over rows of ‖row‖₂, both in float64, in one
 * read of the rows. Each sum takes the same terms in the same order as a loop of its own would (acc[j] row after
 * row, each ‖row‖² along j, the norms row after row); four rows go at once only so that their four ‖row‖² chains
 * of dependent additions overlap.
 */
export function addRowsAndNorms(acc: Float64Array, acts: Float32Array, d: number, rows: number): number {
  let total = 0;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o = r * d;
    let sq0 = 0;
    let sq1 = 0;
    let sq2 = 0;
    let sq3 = 0;
    for (let j = 0; j < d; j++) {
      const v0 = acts[o + j]!;
      const v1 = acts[o + d + j]!;
      const v2 = acts[o + 2 * d + j]!;
      const v3 = acts[o + 3 * d + j]!;
      sq0 += v0 * v0;
      sq1 += v1 * v1;
      sq2 += v2 * v2;
      sq3 += v3 * v3;
      acc[j] = acc[j]! + v0 + v1 + v2 + v3; // ((acc + v0) + v1) + …: row order
    }
    total += Math.sqrt(sq0);
    total += Math.sqrt(sq1);
    total += Math.sqrt(sq2);
    total += Math.sqrt(sq3);
  }
  for (; r < rows; r++) {
    const o = r * d;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = acts[o + j]!;
      sq += v * v;
      acc[j]! += v;
    }
    total += Math.sqrt(sq);
  }
  return total;
}

/** One hook point's running sums: Σ ‖row‖ and Σ row, in float64. */
interface HookSums {
  hook: string;
  d: number;
  normSum: number;
  vector: Float64Array;
}

function hookSums(hookPoints: readonly string[], dims: Readonly<Record<string, number>>): HookSums[] {
  return hookPoints.map((hook) => {
    const d = entryOf(dims, hook, 'hook widths');
    return { hook, d, normSum: 0, vector: new Float64Array(d) };
  });
}

/** Adds the first `rows` rows of a batch to every hook point's sums. */
function accumulate(sums: HookSums[], acts: Readonly<Record<string, Float32Array>>, rows: number): void {
  for (const s of sums) {
    const a = entryOf(acts, s.hook, 'activation batch');
    s.normSum += addRowsAndNorms(s.vector, a, s.d, rows);
  }
}

function finish(sums: HookSums[], tokens: number): AverageNorm {
  if (tokens === 0)
    throw new InputError('average activation norm: no kept tokens in the windows, expected at least one');
  const norms: Record<string, number> = {};
  const means: Record<string, Float32Array> = {};
  for (const s of sums) {
    norms[s.hook] = s.normSum / tokens;
    means[s.hook] = Float32Array.from(s.vector, (v) => v / tokens);
  }
  return { norms, means, tokens };
}
