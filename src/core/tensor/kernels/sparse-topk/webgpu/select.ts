// The per-token TopK selection on webgpu: pre [B, F] → the k largest latents of each row, ascending, ties broken
// towards the lower latent as tf.topk does. One workgroup per row; the WGSL is built from one function per phase
// (the threshold fast path, the exact radix select it falls back to, the ascending write-out).
import type * as tf from '@tensorflow/tfjs-core';
import { runner, workgroupProgram, type Program } from '../../webgpu-program';

/** Largest k the selection keeps in workgroup memory. */
export const WEBGPU_SPARSE_MAX_K = 1024;
/** Equal-to-threshold candidates collected in workgroup memory before the selection falls back to a serial scan. */
const EQ_CAP = 256;
/** Candidates (elements ≥ the fast path's lower bound) the selection sorts in workgroup memory. */
const CAND_CAP = 512;
/** Invocations per workgroup (one workgroup per row). */
const WG = 256;

/** The selection's workgroup memory and the order-preserving key of a float. */
function selectDecls(k: number): string {
  return `
    const K = ${k};
    const WG = ${WG};
    const EQ_CAP = ${EQ_CAP};
    const CAND_CAP = ${CAND_CAP};
    var<workgroup> hist : array<atomic<u32>, 256>;
    var<workgroup> sPrefix : u32;
    var<workgroup> sNeeded : u32;
    var<workgroup> nGreater : atomic<u32>;
    var<workgroup> nEqual : atomic<u32>;
    var<workgroup> sEqual : u32;
    var<workgroup> chosen : array<i32, ${k}>;
    var<workgroup> equal : array<i32, ${EQ_CAP}>;
    var<workgroup> candKey : array<u32, ${CAND_CAP}>;
    var<workgroup> candIdx : array<i32, ${CAND_CAP}>;
    var<workgroup> nCand : atomic<u32>;
    var<workgroup> sCand : u32;
    var<workgroup> sThreshold : u32;
    // Order-preserving map of f32 onto u32: larger float, larger key (0 is below every float's key but NaN's).
    fn sortKey(v : f32) -> u32 {
      let u = bitcast<u32>(v);
      return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
    }`;
}

/**
 * The exact radix select: 4 rounds of an 8-bit histogram over order-preserving keys give the k-th largest key;
 * then the larger keys and the lowest latents equal to it fill `chosen`.
 */
function radixSelectWgsl(): string {
  return `
      var prefix = 0u;
      var mask = 0u;
      var needed = u32(K);
      for (var round = 0u; round < 4u; round++) {
        let shift = 24u - 8u * round;
        atomicStore(&hist[lane], 0u);
        workgroupBarrier();
        for (var i = lane; i < F; i += WG) {
          let key = sortKey(pre[base + i]);
          if ((key & mask) == prefix) { atomicAdd(&hist[(key >> shift) & 255u], 1u); }
        }
        workgroupBarrier();
        if (lane == 0) {
          var acc = 0u;
          var bin = 255u;
          loop {
            let c = atomicLoad(&hist[bin]);
            if (acc + c >= needed || bin == 0u) { break; }
            acc += c;
            bin -= 1u;
          }
          sPrefix = prefix | (bin << shift);
          sNeeded = needed - acc;
        }
        prefix = workgroupUniformLoad(&sPrefix);
        needed = workgroupUniformLoad(&sNeeded);
        mask |= 255u << shift;
      }
      // prefix is the k-th largest key; K - needed keys are larger, and the needed lowest latents equal to it follow.
      if (lane == 0) { atomicStore(&nGreater, 0u); atomicStore(&nEqual, 0u); }
      workgroupBarrier();
      for (var i = lane; i < F; i += WG) {
        let key = sortKey(pre[base + i]);
        if (key > prefix) {
          chosen[atomicAdd(&nGreater, 1u)] = i;
        } else if (key == prefix) {
          let e = atomicAdd(&nEqual, 1u);
          if (e < u32(EQ_CAP)) { equal[e] = i; }
        }
      }
      workgroupBarrier();
      if (lane == 0) { sEqual = atomicLoad(&nEqual); }
      let nEq = workgroupUniformLoad(&sEqual);
      let first = u32(K) - needed;
      if (nEq <= u32(EQ_CAP)) {
        for (var e = u32(lane); e < nEq; e += u32(WG)) {
          let v = equal[e];
          var rank = 0u;
          for (var q = 0u; q < nEq; q++) { if (equal[q] < v) { rank += 1u; } }
          if (rank < needed) { chosen[first + rank] = v; }
        }
      } else if (lane == 0) {
        // Very many exact ties (e.g. a row of zeros): the lowest latents, in a serial scan.
        var got = 0u;
        for (var i = 0; i < F && got < needed; i++) {
          if (sortKey(pre[base + i]) == prefix) { chosen[first + got] = i; got += 1u; }
        }
      }`;
}

/**
 * The fast path (k ≤ WG): the k-th largest of the threads' maxima bounds the row's k-th largest value from below,
 * so the top k are among the (usually few more than k) elements at or above it; each finds its place by counting.
 * A row with more candidates than CAND_CAP takes the radix select.
 */
function thresholdSelectWgsl(): string {
  return `
    var best = 0u;
    for (var i = lane; i < F; i += WG) { best = max(best, sortKey(pre[base + i])); }
    candKey[lane] = best;
    workgroupBarrier();
    // The K-th largest thread maximum (ties to the lower thread) is the lower bound.
    var place = 0;
    for (var q = 0; q < WG; q++) {
      let other = candKey[q];
      if (other > best || (other == best && q < lane)) { place += 1; }
    }
    if (place == K - 1) { sThreshold = best; }
    if (lane == 0) { atomicStore(&nCand, 0u); }
    let threshold = workgroupUniformLoad(&sThreshold);
    for (var i = lane; i < F; i += WG) {
      let key = sortKey(pre[base + i]);
      if (key >= threshold) {
        let c = atomicAdd(&nCand, 1u);
        if (c < u32(CAND_CAP)) { candKey[c] = key; candIdx[c] = i; }
      }
    }
    workgroupBarrier();
    if (lane == 0) { sCand = atomicLoad(&nCand); }
    let count = workgroupUniformLoad(&sCand);
    if (count <= u32(CAND_CAP)) {
      // Each candidate's place in (value desc, latent asc) order; the first K are the selection.
      for (var c = u32(lane); c < count; c += u32(WG)) {
        let key = candKey[c];
        let idx = candIdx[c];
        var before = 0;
        for (var q = 0u; q < count; q++) {
          let other = candKey[q];
          if (other > key || (other == key && candIdx[q] < idx)) { before += 1; }
        }
        if (before < K) { chosen[before] = idx; }
      }
    } else {
      ${radixSelectWgsl()}
    }`;
}

/** The k chosen latents, written in ascending order (each one's place found by counting). */
function writeAscendingWgsl(): string {
  return `
    workgroupBarrier();
    for (var j = lane; j < K; j += WG) {
      let v = chosen[j];
      var rank = 0;
      for (var q = 0; q < K; q++) { if (chosen[q] < v) { rank += 1; } }
      result[unit * K + rank] = v;
    }`;
}

/**
 * pre [B, F] → the k selected latents per row [B, k] int32, ascending. Fast path (k ≤ 256): the k-th largest of
 * the 256 threads' maxima is a lower bound T of the row's k-th largest value (those k maxima are k distinct
 * elements ≥ T), so the top k are among the elements ≥ T — usually a few more than k. They are collected (at most
 * CAND_CAP) and each finds its place in (value desc, latent asc) order by counting. Two reads of the row, a
 * handful of atomics and three barriers. A row with
 * more candidates (many ties, e.g. all zeros) takes the exact radix select instead: 4 rounds of an 8-bit
 * histogram over order-preserving keys, then the larger keys and the lowest latents equal to the k-th.
 */
function selectProgram(B: number, k: number, forceRadix = false): Program {
  const fast = !forceRadix && k <= WG;
  const select = fast
    ? thresholdSelectWgsl()
    : `
    {
      ${radixSelectWgsl()}
    }`;
  const body = `
    let F = uniforms.preShape.y;
    let base = unit * F;
    ${select}
    ${writeAscendingWgsl()}`;
  return workgroupProgram(
    `SaeTopKSelect_k${k}_${fast ? 'fast' : 'radix'}`,
    [B, k],
    ['pre'],
    B,
    WG,
    selectDecls(k),
    body,
  );
}

/** The k selected latents of each row of pre [B, F], ascending (int32 [B, k]), as a backend tensor. */
export function topKSelectInfo(backend: unknown, pre: tf.TensorInfo, k: number, forceRadix = false): tf.TensorInfo {
  const [B] = pre.shape;
  if (B === undefined) throw new Error('TopK select: pre must be [B, F]');
  return runner(backend).run(selectProgram(B, k, forceRadix), [pre], 'int32');
}
