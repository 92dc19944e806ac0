// The latent CSR of a batch's selection on webgpu: the (token, slot) pairs grouped by latent, in token order,
// without atomics. Per block of rows a workgroup counts and ranks sequentially, a column scan over blocks and one
// exclusive scan over latents give every pair its place (deterministic, so a run and its resume add in the same
// order). Four passes, one function each.
import type * as tf from '@tensorflow/tfjs-core';
import { flatProgram, runner, workgroupProgram, type Program } from '../../webgpu-program';

/** Rows of the token batch one workgroup ranks sequentially. */
const CSR_BLOCK_ROWS = 32;

/**
 * Per block of CSR_BLOCK_ROWS rows, in row order: rank[p] = how many earlier rows of the block chose the same
 * latent, and count[block, f]. Output [1, B·k + blocks·F] int32: the ranks, then the counts.
 */
function blockRankProgram(B: number, k: number, F: number): Program {
  const blocks = Math.ceil(B / CSR_BLOCK_ROWS);
  const WG = 64;
  const decls = `const K = ${k}; const R = ${CSR_BLOCK_ROWS}; const WG = ${WG};`;
  const body = `
    let B = uniforms.idxShape.x;
    let F = uniforms.F;
    let counts = B * K + unit * F;
    for (var f = lane; f < F; f += WG) { result[counts + f] = 0; }
    storageBarrier();
    workgroupBarrier();
    let end = min(B, (unit + 1) * R);
    for (var b = unit * R; b < end; b++) {
      for (var j = lane; j < K; j += WG) {
        let p = b * K + j;
        let at = counts + idx[p];
        let c = result[at];
        result[p] = c;
        result[at] = c + 1;
      }
      storageBarrier();
      workgroupBarrier();
    }`;
  return workgroupProgram(`SaeTopKBlockRank_k${k}`, [1, B * k + blocks * F], ['idx'], blocks, WG, decls, body, { F });
}

/** Column scan over blocks: [1, blocks·F + F] int32 — each block's exclusive prefix per latent, then the totals. */
function columnScanProgram(B: number, k: number, F: number): Program {
  const blocks = Math.ceil(B / CSR_BLOCK_ROWS);
  return flatProgram(
    'SaeTopKColumnScan',
    [1, blocks * F + F],
    ['ranks'],
    `
    let F = uniforms.n;
    let counts = uniforms.countsAt;
    var acc = 0;
    for (var blk = 0; blk < uniforms.blocks; blk++) {
      let c = ranks[counts + blk * F + index];
      result[blk * F + index] = acc;
      acc += c;
    }
    result[uniforms.blocks * F + index] = acc;`,
    F,
    { countsAt: B * k, blocks },
  );
}

/** Exclusive scan of the per-latent totals: offsets [1, F + 1] int32 (one workgroup). */
function offsetsProgram(B: number, F: number): Program {
  const blocks = Math.ceil(B / CSR_BLOCK_ROWS);
  const WG = 256;
  const chunk = Math.ceil(F / WG);
  const decls = `const WG = ${WG}; var<workgroup> partial : array<i32, ${WG}>;`;
  const body = `
    let F = uniforms.F;
    let CHUNK = uniforms.chunk;
    let totals = uniforms.totalsAt;
    let lo = lane * CHUNK;
    let hi = min(F, lo + CHUNK);
    var s = 0;
    for (var f = lo; f < hi; f++) { s += scan[totals + f]; }
    partial[lane] = s;
    workgroupBarrier();
    if (lane == 0) {
      var acc = 0;
      for (var i = 0; i < WG; i++) { let c = partial[i]; partial[i] = acc; acc += c; }
      result[F] = acc;
    }
    workgroupBarrier();
    var acc = partial[lane];
    for (var f = lo; f < hi; f++) { result[f] = acc; acc += scan[totals + f]; }`;
  return workgroupProgram('SaeTopKOffsets', [1, F + 1], ['scan'], 1, WG, decls, body, {
    F,
    chunk,
    totalsAt: blocks * F,
  });
}

/** entries [B·k]: the flat (token, slot) indices grouped by latent, in token order within a latent. */
function entriesProgram(B: number, k: number, F: number): Program {
  return flatProgram(
    'SaeTopKEntries',
    [B * k],
    ['idx', 'ranks', 'scan', 'offs'],
    `
    let f = idx[index];
    let blk = (index / uniforms.k) / ${CSR_BLOCK_ROWS};
    result[offs[f] + scan[blk * uniforms.F + f] + ranks[index]] = index;`,
    B * k,
    { k, F },
  );
}

/** The latent CSR of indices [B, k] as backend tensors (entries [B·k], offsets [1, F + 1]); intermediates released. */
export function latentCsrInfo(
  backend: unknown,
  idx: tf.TensorInfo,
  F: number,
): { entries: tf.TensorInfo; offsets: tf.TensorInfo } {
  const [B, k] = idx.shape as [number, number];
  const r = runner(backend);
  const ranks = r.run(blockRankProgram(B, k, F), [idx], 'int32');
  const scan = r.run(columnScanProgram(B, k, F), [ranks], 'int32');
  const offsets = r.run(offsetsProgram(B, F), [scan], 'int32');
  const entries = r.run(entriesProgram(B, k, F), [idx, ranks, scan, offsets], 'int32');
  const kb = backend as tf.KernelBackend;
  kb.disposeData(ranks.dataId);
  kb.disposeData(scan.dataId);
  return { entries, offsets };
}
