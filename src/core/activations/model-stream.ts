// Activations computed on the fly: the model runs over one shuffle group of windows at a time (in forward passes
// of `modelBatchSize` windows), keeps the masked-in tokens' rows of every hook point, and the group batcher
// shuffles and slices them into training batches. Resuming recomputes only the group being consumed.
import type { TokenMaskOptions } from '../data/masks';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';
import { GroupBatcher } from './group-batcher';
import { checkCount, checkHookPoints, checkSeed } from './checks';
import { maskKey, windowsDigest } from './fingerprint';
import { checkWindows, hookWidths, keptRows } from './model-rows';
import type { RowSpool } from './row-spool';
import type { ActivationStream, ActivationStreamState } from './types';

export interface ModelStreamOptions {
  model: HookedTransformer;
  /** Context windows [n, S], already in the order to use (e.g. the train split). */
  windows: TokenBatch;
  /** One or more hook points (two for a transcoder: its input and output). */
  hookPoints: string[];
  /** Which tokens are kept (default: all but position 0). */
  mask?: TokenMaskOptions;
  /** Token rows per batch, e.g. 4096. */
  batchSize: number;
  /** Windows per shuffle group: their tokens are shuffled together. */
  groupWindows: number;
  /** Windows per forward pass. */
  modelBatchSize: number;
  /** Shuffle seed, 0..2^32-1. */
  seed: number;
  /** Shuffle the rows within each group (default true; false keeps window order, e.g. for evaluation). */
  shuffle?: boolean;
  /** Drop the final partial batch (default true). */
  dropLast?: boolean;
  /** A `state()` of an earlier stream with the same settings: continue exactly where it stood. */
  state?: ActivationStreamState;
  /** Rows of an earlier pass over the same windows (with the same mask and hook points): read, not recomputed. */
  spool?: RowSpool;
}

export async function createModelActivationStream(opts: ModelStreamOptions): Promise<ActivationStream> {
  const { model, windows } = opts;
  checkHookPoints(opts.hookPoints);
  checkCount(opts.batchSize, 'batch_size');
  checkCount(opts.groupWindows, 'group_windows');
  checkCount(opts.modelBatchSize, 'model_batch_size');
  checkSeed(opts.seed);
  checkWindows(model, windows);
  const mask = opts.mask ?? {};
  const dims = await hookWidths(model, opts.hookPoints);
  const n = windows.batch;
  const G = opts.groupWindows;
  const rowOpts = { hookPoints: opts.hookPoints, dims, mask, modelBatchSize: opts.modelBatchSize };
  return new GroupBatcher({
    fingerprint: {
      source: 'model',
      data: `${model.cfg.architecture} d_model=${model.cfg.dModel} n_layers=${model.cfg.nLayers}; windows [${n}, ${windows.seq}] fnv1a=${windowsDigest(windows)}`,
      mask: maskKey(mask),
      hook_points: [...opts.hookPoints],
      batch_size: opts.batchSize,
      seed: opts.seed,
      shuffle: opts.shuffle ?? true,
      group_windows: G,
      n_windows: n,
      drop_last: opts.dropLast ?? true,
    },
    dims,
    nGroups: Math.ceil(n / G),
    loadGroup: async (g, recycle) => {
      const [start, end] = [g * G, Math.min(n, (g + 1) * G)];
      return opts.spool?.read(start, end, recycle) ?? keptRows(model, windows, start, end, { ...rowOpts, recycle });
    },
    resume: opts.state,
  });
}
