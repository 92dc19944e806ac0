// Which positions of a window batch feed SAE training and analysis: not position 0 (the BOS every window starts
// with), not a BOS id elsewhere, not padding, not the caller's ignore_token_ids (lm-saes ActivationFactory).
import type { TokenBatch } from '../lm/token-batch';

export interface TokenMaskOptions {
  /** Drop position 0 of every window (default true). */
  excludeFirstPosition?: boolean;
  /**
   * Drop this id wherever it appears. Leave it null when BOS and EOS share an id (pdlm-4l-256: both 0) and the
   * EOS separators inside windows are data: the SAE reference trains on them (5,524,065 = 21,663 × 255 tokens).
   */
  bosId?: number | null;
  padId?: number | null;
  ignoreTokenIds?: readonly number[];
}

/** 1 where the token is kept, 0 where it is excluded; [batch * seq], row-major like `batch.ids`. */
export function tokenMask(batch: TokenBatch, opts: TokenMaskOptions = {}): Uint8Array {
  const dropped = new Set<number>(opts.ignoreTokenIds ?? []);
  if (opts.bosId !== undefined && opts.bosId !== null) dropped.add(opts.bosId);
  if (opts.padId !== undefined && opts.padId !== null) dropped.add(opts.padId);
  const excludeFirst = opts.excludeFirstPosition ?? true;
  const mask = new Uint8Array(batch.ids.length);
  for (let i = 0; i < batch.ids.length; i++) {
    mask[i] = dropped.has(batch.ids[i]!) || (excludeFirst && i % batch.seq === 0) ? 0 : 1;
  }
  return mask;
}

export interface KeptPositions {
  /** Row of each kept token, ascending. */
  window: Int32Array;
  /** Its position within the row. */
  position: Int32Array;
}

/** The (window, position) pairs a mask keeps, in row-major order. */
export function keptPositions(mask: Uint8Array, seq: number): KeptPositions {
  const n = countKept(mask);
  const window = new Int32Array(n);
  const position = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    window[k] = Math.floor(i / seq);
    position[k++] = i % seq;
  }
  return { window, position };
}

export function countKept(mask: Uint8Array): number {
  let n = 0;
  for (const m of mask) n += m;
  return n;
}
