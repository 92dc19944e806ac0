// Row copies of the batch path: a batch's rows out of a shuffled group (group-batcher.ts) and a batch into tensor
// memory times the dataset scale (the trainer). The native addon's gatherRows does each row as one memcpy (or one
// vectorised multiply); without it (not built, or an older build) the same copies run in JavaScript. Either way
// the scaled values are float32(x · float32(scale)), the bits tf.mul gives.
import { loadNativeBlas } from '../tensor/native/native-blas';

type Rows = Float32Array | Int32Array;

/** native/src/row_gather.c. */
type GatherRows = (
  src: Rows,
  dst: Rows,
  width: number,
  order: Int32Array | null,
  from: number,
  at: number,
  count: number,
  scale: number,
) => void;

let native: GatherRows | null | undefined;

function nativeGather(): GatherRows | null {
  if (native === undefined) {
    const blas = loadNativeBlas().blas as unknown as { gatherRows?: GatherRows } | null;
    native = typeof blas?.gatherRows === 'function' ? blas.gatherRows : null;
  }
  return native;
}

/**
 * dst rows [at, at + count) ← src rows order[from + i] (from + i without an order), rows of `width` values; float
 * rows times Math.fround(scale) when scale is not 1 (an Int32Array only with scale 1).
 */
export function gatherRows(
  src: Rows,
  dst: Rows,
  width: number,
  order: Int32Array | null,
  from: number,
  at: number,
  count: number,
  scale = 1,
): void {
  if (count === 0) return;
  const s = Math.fround(scale);
  const fn = nativeGather();
  if (fn) return fn(src, dst, width, order, from, at, count, s);
  if (s !== 1) {
    if (!(src instanceof Float32Array) || !(dst instanceof Float32Array))
      throw new Error('gatherRows: only Float32Array rows are scaled');
    for (let i = 0; i < count; i++) {
      const r = (order ? order[from + i]! : from + i) * width;
      const o = (at + i) * width;
      for (let j = 0; j < width; j++) dst[o + j] = src[r + j]! * s;
    }
    return;
  }
  if (!order) {
    dst.set(src.subarray(from * width, (from + count) * width), at * width);
    return;
  }
  for (let i = 0; i < count; i++) {
    const r = order[from + i]!;
    dst.set(src.subarray(r * width, (r + 1) * width), (at + i) * width);
  }
}

/** Whether gatherRows runs natively (tests run both paths). */
export function nativeGatherRows(on?: boolean): boolean {
  if (on === false) native = null;
  else if (on === true) native = undefined;
  return nativeGather() !== null;
}
