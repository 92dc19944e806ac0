// A rectangular batch of token ids [batch, seq], validated against a model's vocabulary and context length.
import { InputError } from '../errors';

export interface TokenBatch {
  ids: Int32Array; // [batch * seq], row-major
  batch: number;
  seq: number;
}

export function tokenBatch(rows: ArrayLike<number>[] | TokenBatch, source = 'input'): TokenBatch {
  if (!Array.isArray(rows)) return rows as TokenBatch;
  const [first] = rows;
  if (!first) throw new InputError(`${source}: no sequences, expected at least one row of token ids`);
  const seq = first.length;
  if (seq === 0) throw new InputError(`${source}: row 0 is empty, expected at least one token id`);
  const ids = new Int32Array(rows.length * seq);
  rows.forEach((row, b) => {
    if (row.length !== seq)
      throw new InputError(
        `${source}: row ${b} has ${row.length} tokens, expected ${seq} like row 0 (rows must have equal length)`,
      );
    for (let s = 0; s < seq; s++) {
      const v = row[s];
      if (v === undefined || !Number.isInteger(v))
        throw new InputError(`${source}: row ${b}, position ${s} is ${v}, expected an integer token id`);
      ids[b * seq + s] = v;
    }
  });
  return { ids, batch: rows.length, seq };
}

export function checkTokenBatch(t: TokenBatch, vocab: number, nCtx: number, source = 'input'): void {
  if (t.seq < 1) throw new InputError(`${source}: sequences are empty, expected at least one token`);
  if (t.seq > nCtx)
    throw new InputError(`${source}: sequence length ${t.seq} exceeds the model's context of ${nCtx} tokens`);
  if (t.ids.length !== t.batch * t.seq)
    throw new InputError(`${source}: ${t.ids.length} ids do not fill [${t.batch}, ${t.seq}]`);
  for (const [i, v] of t.ids.entries()) {
    if (v < 0 || v >= vocab) {
      throw new InputError(
        `${source}: token id ${v} at row ${Math.floor(i / t.seq)}, position ${i % t.seq} is out of the vocabulary (expected 0..${vocab - 1})`,
      );
    }
  }
}

/** Rows [start, start + count) of a batch (a view, no copy). */
export function sliceRows(t: TokenBatch, start: number, count: number): TokenBatch {
  const n = Math.min(count, t.batch - start);
  return { ids: t.ids.subarray(start * t.seq, (start + n) * t.seq), batch: n, seq: t.seq };
}
