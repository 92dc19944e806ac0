// Runs a model over context windows, a few at a time, and hands back hook activations as plain Float32Arrays:
// whole windows ([b, S, d], for the on-disk cache) or only the masked-in token rows ([n, d], for training).
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { keptPositions, tokenMask, type TokenMaskOptions } from '../data/masks';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { checkTokenBatch, sliceRows, type TokenBatch } from '../lm/token-batch';
import { tensorMemory } from '../tensor/native/tensor-memory';
import { checkHookPoints } from './checks';
import { groupArrays, type RowGroup } from './group-batcher';
import { entryOf } from '../util/lookup';

/** Hook activations of windows [first, first + windows): per hook [windows, seq, d]. */
export interface WindowActs {
  first: number;
  windows: number;
  acts: Record<string, Float32Array>;
}

/** Every window fits the model (ids in its vocabulary, length within its context), checked before any work. */
export function checkWindows(model: HookedTransformer, windows: TokenBatch): void {
  checkTokenBatch(windows, model.cfg.dVocab, model.cfg.nCtx, 'windows');
  if (windows.batch < 1) throw new InputError('windows: none given, expected at least one context window');
}

/** Width of each hook's activation; hooks must be [batch, seq, d] (not attention patterns or per-head values). */
export async function hookWidths(
  model: HookedTransformer,
  hookPoints: readonly string[],
): Promise<Record<string, number>> {
  checkHookPoints(hookPoints);
  const { cache } = model.runWithCache({ ids: new Int32Array(1), batch: 1, seq: 1 }, [...hookPoints]);
  try {
    const dims: Record<string, number> = {};
    for (const h of hookPoints) {
      const shape = entryOf(cache, h, 'cached activations').shape;
      const [, , d] = shape;
      if (shape.length !== 3 || d === undefined) {
        throw new InputError(
          `hook '${h}': activations of shape [${shape.join(', ')}] for one token, expected [batch, seq, d] (a per-token vector hook such as hook_resid_post)`,
        );
      }
      dims[h] = d;
    }
    return dims;
  } finally {
    tf.dispose(Object.values(cache));
  }
}

/**
 * Forward passes of `modelBatchSize` windows over [start, end); `fn` gets each pass's activations. On the host
 * backends (wasm, cpu) they are views of the tensors' own memory, valid only until `fn` returns: copy what is kept.
 * (A read-back would copy every pass's activations once more, only for `fn` to copy the rows it keeps.)
 */
export async function forEachForward(
  model: HookedTransformer,
  windows: TokenBatch,
  hookPoints: readonly string[],
  range: { start: number; end: number; modelBatchSize: number },
  fn: (part: WindowActs) => void,
): Promise<void> {
  const backend = tf.getBackend();
  const mem = backend === 'wasm' || backend === 'cpu' ? tensorMemory(backend, tf.backend()) : null;
  for (let first = range.start; first < range.end; first += range.modelBatchSize) {
    const part = sliceRows(windows, first, Math.min(range.modelBatchSize, range.end - first));
    const { cache } = model.runWithCache(part, [...hookPoints]);
    try {
      const acts: Record<string, Float32Array> = {};
      for (const h of hookPoints) {
        const t = entryOf(cache, h, 'cached activations');
        acts[h] = mem?.view(t) ?? ((await t.data()) as Float32Array); // [b, S, d]
      }
      fn({ first, windows: part.batch, acts });
    } finally {
      tf.dispose(Object.values(cache));
    }
  }
}

export interface KeptRowsOptions {
  hookPoints: readonly string[];
  dims: Readonly<Record<string, number>>;
  mask: TokenMaskOptions;
  modelBatchSize: number;
  /** Stop after this many kept rows (default: all of them). */
  maxRows?: number;
  /** A spent group whose arrays the rows may be written into (groupArrays); never one still being read or written. */
  recycle?: RowGroup;
}

/** The kept tokens' activations of windows [start, end), window-major; origins are absolute window indices. */
export async function keptRows(
  model: HookedTransformer,
  windows: TokenBatch,
  start: number,
  end: number,
  opts: KeptRowsOptions,
): Promise<RowGroup> {
  const S = windows.seq;
  const part = sliceRows(windows, start, end - start);
  const kept = keptPositions(tokenMask(part, opts.mask), S);
  const rows = Math.min(kept.window.length, opts.maxRows ?? Infinity);
  const lastWindow = rows === 0 ? -1 : kept.window[rows - 1]!;
  // Per hook point: its width and the kept rows' activations [rows, d], filled pass by pass below.
  const widths = Object.fromEntries(opts.hookPoints.map((h) => [h, entryOf(opts.dims, h, 'hook widths')]));
  const arrays = groupArrays(rows, widths, opts.recycle);
  const outs = opts.hookPoints.map((hook) => ({ hook, d: widths[hook]!, rows: arrays.acts[hook]! }));
  const origin = arrays.origin; // [rows, 2]
  for (let i = 0; i < rows; i++) {
    origin[2 * i] = start + kept.window[i]!;
    origin[2 * i + 1] = kept.position[i]!;
  }
  let k = 0;
  const range = { start, end: start + lastWindow + 1, modelBatchSize: opts.modelBatchSize };
  await forEachForward(model, windows, opts.hookPoints, range, ({ first, windows: b, acts: full }) => {
    const stop = first - start + b; // kept rows of this pass: windows [first - start, stop) of the part
    while (k < rows && kept.window[k]! < stop) {
      // A run of kept rows at consecutive positions of one window is one contiguous block: copied at once.
      const w = kept.window[k]!;
      let n = 1;
      while (k + n < rows && kept.window[k + n] === w && kept.position[k + n] === kept.position[k]! + n) n++;
      const src = (w - (first - start)) * S + kept.position[k]!;
      for (const { hook, d, rows: out } of outs)
        out.set(entryOf(full, hook, 'forward pass').subarray(src * d, (src + n) * d), k * d);
      k += n;
    }
  });
  return { rows, acts: Object.fromEntries(outs.map((o) => [o.hook, o.rows])), origin };
}
