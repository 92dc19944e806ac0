// Context windows over a token stream: window i = [bosId] + stream[(S-1)*i : (S-1)*(i+1)], S tokens with the
// BOS first; only complete windows (the stream's tail shorter than S-1 tokens is dropped).
import { InputError } from '../errors';
import type { TokenBatch } from '../lm/token-batch';

export interface WindowSpec {
  /** S, tokens per window including the BOS (the model's context, e.g. 256). */
  seqLen: number;
  bosId: number;
}

export function windowCount(streamLength: number, seqLen: number): number {
  checkSeqLen(seqLen);
  return Math.floor(streamLength / (seqLen - 1));
}

/** Every complete window, in stream order. */
export function contextWindows(stream: Int32Array, spec: WindowSpec): TokenBatch {
  const n = windowCount(stream.length, spec.seqLen);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  return gatherWindows(stream, all, spec);
}

/** The windows with the given indices, in that order (e.g. one split). */
export function gatherWindows(stream: Int32Array, indices: ArrayLike<number>, spec: WindowSpec): TokenBatch {
  const { seqLen: S, bosId } = spec;
  const n = windowCount(stream.length, S);
  const ids = new Int32Array(indices.length * S); // [batch, S]
  for (let b = 0; b < indices.length; b++) {
    const w = indices[b]!;
    if (!Number.isInteger(w) || w < 0 || w >= n) throw new RangeError(`window index ${w}: expected 0..${n - 1}`);
    ids[b * S] = bosId;
    ids.set(stream.subarray((S - 1) * w, (S - 1) * (w + 1)), b * S + 1);
  }
  return { ids, batch: indices.length, seq: S };
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 2)
    throw new InputError(`seq_len ${seqLen}: expected an integer ≥ 2 (the BOS plus at least one token)`);
}
