// The sparse TopK path on the webgpu backend: WGSL programs run through tfjs-backend-webgpu's program runner, so
// every buffer stays on the GPU and tfjs manages it like any other tensor.
//
//   select      per token, the k largest pre-activations (radix select on order-preserving keys, 4 passes of 8
//               bits over the row, ties broken towards the lower latent as tf.topk does), latents sorted ascending
//   gather      their values after ReLU
//   decode      x̂[b] = b_D + Σ_j v[b,j] W_D[idx[b,j]]            (only k rows of W_D per token)
//   latent CSR  the (token, slot) pairs grouped by latent, in token order, without atomics: per block of rows a
//               workgroup counts and ranks sequentially, a column scan over blocks and one exclusive scan over
//               latents give every pair its place (deterministic, so a run and its resume add in the same order)
//   backward    dz[b,j] = [v>0] g[b]·W_D[idx]; dW_D[f] = Σ v g[b]; dW_Eᵀ[f] = Σ dz x[b]; db_E[f] = Σ dz — each a
//               loop over latent f's segment of the CSR, so no float atomics and no dense [B, d_sae] gradient
//
// The encoder matmul is the fused step's (128×128 tiles, sae/sparse/fused-step-webgpu.ts). Kernels are registered
// under names of their own ('SaeTopK…'); nothing of tfjs's is replaced.
import * as tf from '@tensorflow/tfjs-core';

/** What the kernels need of tfjs-backend-webgpu's WebGPUBackend (typed here so core never imports the package). */
interface WebGpuRunner {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: Array<{ type: string; data: number[] }>): tf.TensorInfo;
  device: GPUDevice;
}

interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size?: boolean;
  /** Extra fields of the Uniforms struct ('name : i32, …'), filled from `uniformData` in order. */
  uniforms?: string;
  uniformData?: number[];
  getUserCode: () => string;
}

/** Rows of the token batch one workgroup ranks sequentially when building the latent CSR. */
const CSR_BLOCK_ROWS = 32;
/** Largest k the selection keeps in workgroup memory. */
export const WEBGPU_SPARSE_MAX_K = 1024;
/** Equal-to-threshold candidates collected in workgroup memory before the selection falls back to a serial scan. */
const EQ_CAP = 256;
/** Candidates (elements ≥ the fast path's lower bound) the selection sorts in workgroup memory. */
const CAND_CAP = 512;
const FLAT_WG = 64;

/**
 * `n` invocations (default: one per output element) of `main(index)`; `fields` are extra i32 uniforms
 * ('name' → value) the body reads as uniforms.name.
 */
function flatProgram(key: string, outputShape: number[], variableNames: string[], body: string, n = outputShape.reduce((a, b) => a * b, 1), fields: Record<string, number> = {}): Program {
  const all = { n, ...fields };
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(n / FLAT_WG), 1, 1],
    variableNames,
    workgroupSize: [FLAT_WG, 1, 1],
    uniforms: Object.keys(all).map((f) => `${f} : i32,`).join(' '),
    uniformData: Object.values(all),
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.n) { return; }
        ${body}
      }`,
  };
}

/** One workgroup per unit of work (a row, a block of rows…); `main()` loops units uniformly. */
function workgroupProgram(key: string, outputShape: [number, number], variableNames: string[], units: number, wg: number, decls: string, body: string, fields: Record<string, number> = {}): Program {
  const all = { units, ...fields };
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: [0], y: [1] },
    dispatch: [Math.max(1, Math.min(units, 65535)), 1, 1],
    variableNames,
    workgroupSize: [wg, 1, 1],
    uniforms: Object.keys(all).map((f) => `${f} : i32,`).join(' '),
    uniformData: Object.values(all),
    getUserCode: () => `
      ${decls}
      var<workgroup> wgUnit : i32;
      fn main() {
        let lane = i32(localIndex);
        let nUnits = uniforms.units;
        if (lane == 0) { wgUnit = i32(workgroupId.x); }
        var unit = workgroupUniformLoad(&wgUnit);
        loop {
          if (unit >= nUnits) { break; }
          ${body}
          workgroupBarrier();
          if (lane == 0) { wgUnit = unit + i32(numWorkgroups.x); }
          unit = workgroupUniformLoad(&wgUnit);
        }
      }`,
  };
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
  const WG = 256;
  const fast = !forceRadix && k <= WG;
  const decls = `
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
  const radix = `
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
  const select = fast
    ? `
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
      ${radix}
    }`
    : `
    {
      ${radix}
    }`;
  // The k chosen latents, written in ascending order (each one's place found by counting).
  const writeOut = `
    workgroupBarrier();
    for (var j = lane; j < K; j += WG) {
      let v = chosen[j];
      var rank = 0;
      for (var q = 0; q < K; q++) { if (chosen[q] < v) { rank += 1; } }
      result[unit * K + rank] = v;
    }`;
  const body = `
    let F = uniforms.preShape.y;
    let base = unit * F;
    ${select}
    ${writeOut}`;
  return workgroupProgram(`SaeTopKSelect_k${k}_${fast ? 'fast' : 'radix'}`, [B, k], ['pre'], B, WG, decls, body);
}

/** values [B, k] = ReLU(pre[b, idx[b, j]]). */
function gatherProgram(B: number, k: number): Program {
  return flatProgram('SaeTopKGather', [B, k], ['pre', 'idx'], `
    let b = index / uniforms.idxShape.y;
    setOutputAtIndex(index, max(pre[b * uniforms.preShape.y + idx[index]], 0.0));`);
}

/** recon [B, d] = b_D + Σ_j v[b, j] W_D[idx[b, j]]. */
function decodeProgram(B: number, d: number): Program {
  return flatProgram('SaeTopKDecode', [B, d], ['vals', 'idx', 'wd', 'bd'], `
    let d = uniforms.wdShape.y;
    let K = uniforms.idxShape.y;
    let b = index / d;
    let t = index - b * d;
    var acc = bd[t];
    for (var j = 0; j < K; j++) {
      acc += vals[b * K + j] * wd[idx[b * K + j] * d + t];
    }
    setOutputAtIndex(index, acc);`);
}

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
  return flatProgram('SaeTopKColumnScan', [1, blocks * F + F], ['ranks'], `
    let F = uniforms.n;
    let counts = uniforms.countsAt;
    var acc = 0;
    for (var blk = 0; blk < uniforms.blocks; blk++) {
      let c = ranks[counts + blk * F + index];
      result[blk * F + index] = acc;
      acc += c;
    }
    result[uniforms.blocks * F + index] = acc;`, F, { countsAt: B * k, blocks });
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
  return workgroupProgram('SaeTopKOffsets', [1, F + 1], ['scan'], 1, WG, decls, body, { F, chunk, totalsAt: blocks * F });
}

/** entries [B·k]: the flat (token, slot) indices grouped by latent, in token order within a latent. */
function entriesProgram(B: number, k: number, F: number): Program {
  return flatProgram('SaeTopKEntries', [B * k], ['idx', 'ranks', 'scan', 'offs'], `
    let f = idx[index];
    let blk = (index / uniforms.k) / ${CSR_BLOCK_ROWS};
    result[offs[f] + scan[blk * uniforms.F + f] + ranks[index]] = index;`, B * k, { k, F });
}

/** Per latent: Σ over its segment of coef (mode 'sum') or of [coef > 0] (mode 'count'); [F]. */
function segmentReduceProgram(F: number, mode: 'sum' | 'count'): Program {
  const term = mode === 'sum' ? 'coef[entries[e]]' : 'select(0.0, 1.0, coef[entries[e]] > 0.0)';
  return flatProgram(`SaeTopKSegment_${mode}`, [F], ['coef', 'entries', 'offs'], `
    var acc = 0.0;
    for (var e = offs[index]; e < offs[index + 1]; e++) { acc += ${term}; }
    setOutputAtIndex(index, acc);`);
}

/** out [F, d]: row f = Σ over latent f's segment of coef[p] · rows[token(p)]. */
function segmentOuterProgram(F: number, d: number, k: number): Program {
  return flatProgram('SaeTopKSegmentOuter', [F, d], ['coef', 'rows', 'entries', 'offs'], `
    let d = uniforms.rowsShape.y;
    let f = index / d;
    let t = index - f * d;
    var acc = 0.0;
    for (var e = offs[f]; e < offs[f + 1]; e++) {
      let p = entries[e];
      acc += coef[p] * rows[(p / uniforms.k) * d + t];
    }
    setOutputAtIndex(index, acc);`, F * d, { k });
}

/** dz [B, k] = [v > 0] · g[b] · W_D[idx[b, j]]. */
function latentGradProgram(B: number, k: number): Program {
  return flatProgram('SaeTopKLatentGrad', [B, k], ['g', 'vals', 'idx', 'wd'], `
    if (vals[index] <= 0.0) { setOutputAtIndex(index, 0.0); return; }
    let d = uniforms.gShape.y;
    let b = index / uniforms.idxShape.y;
    let row = idx[index] * d;
    var acc = 0.0;
    for (var t = 0; t < d; t++) { acc += g[b * d + t] * wd[row + t]; }
    setOutputAtIndex(index, acc);`);
}

/** Runs a program with its own uniforms. */
function runner(backend: unknown): { run(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo } {
  const b = backend as WebGpuRunner;
  return {
    run: (program, inputs, dtype) => b.runWebGPUProgram(program, inputs, dtype, (program.uniformData ?? []).map((v) => ({ type: 'int32', data: [v] }))),
  };
}

/** The latent CSR of indices [B, k] as backend tensors (entries [B·k], offsets [1, F + 1]); intermediates released. */
export function latentCsrInfo(backend: unknown, idx: tf.TensorInfo, F: number): { entries: tf.TensorInfo; offsets: tf.TensorInfo } {
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

/** The k selected latents of each row of pre [B, F], ascending (int32 [B, k]), as a backend tensor. */
export function topKSelectInfo(backend: unknown, pre: tf.TensorInfo, k: number): tf.TensorInfo {
  return runner(backend).run(selectProgram(pre.shape[0]!, k), [pre], 'int32');
}

/** Per latent, Σ of coef over its CSR segment ([F] float32), as a backend tensor. */
export function segmentSumInfo(backend: unknown, coef: tf.TensorInfo, entries: tf.TensorInfo, offsets: tf.TensorInfo): tf.TensorInfo {
  return runner(backend).run(segmentReduceProgram(offsets.shape[1]! - 1, 'sum'), [coef, entries, offsets], 'float32');
}

const KERNELS = {
  select: 'SaeTopKSelect',
  gather: 'SaeTopKGather',
  decode: 'SaeTopKDecode',
  csr: 'SaeTopKLatentCsr',
  segmentReduce: 'SaeTopKSegmentReduce',
  segmentOuter: 'SaeTopKSegmentOuter',
  latentGrad: 'SaeTopKLatentGrad',
} as const;

let registered = false;

/** Registers the sparse TopK kernels for the webgpu backend (idempotent). */
export function registerWebGpuSparseTopK(): void {
  if (registered || tf.getKernel(KERNELS.select, 'webgpu')) return;
  registered = true;
  const reg = (kernelName: string, kernelFunc: tf.KernelFunc) => tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
  reg(KERNELS.select, ({ inputs, backend, attrs }) => {
    const { pre } = inputs as { pre: tf.TensorInfo };
    const { k, radix } = attrs as unknown as { k: number; radix?: boolean };
    return runner(backend).run(selectProgram(pre.shape[0]!, k, radix === true), [pre], 'int32');
  });
  reg(KERNELS.gather, ({ inputs, backend }) => {
    const { pre, idx } = inputs as Record<string, tf.TensorInfo>;
    return runner(backend).run(gatherProgram(idx!.shape[0]!, idx!.shape[1]!), [pre!, idx!], 'float32');
  });
  reg(KERNELS.decode, ({ inputs, backend }) => {
    const { vals, idx, wd, bd } = inputs as Record<string, tf.TensorInfo>;
    return runner(backend).run(decodeProgram(idx!.shape[0]!, wd!.shape[1]!), [vals!, idx!, wd!, bd!], 'float32');
  });
  reg(KERNELS.csr, ({ inputs, backend, attrs }) => {
    const { idx } = inputs as { idx: tf.TensorInfo };
    const { F } = attrs as unknown as { F: number };
    const { entries, offsets } = latentCsrInfo(backend, idx, F);
    return [entries, offsets];
  });
  reg(KERNELS.segmentReduce, ({ inputs, backend, attrs }) => {
    const { coef, entries, offs } = inputs as Record<string, tf.TensorInfo>;
    const { mode } = attrs as unknown as { mode: 'sum' | 'count' };
    return runner(backend).run(segmentReduceProgram(offs!.shape[1]! - 1, mode), [coef!, entries!, offs!], 'float32');
  });
  reg(KERNELS.segmentOuter, ({ inputs, backend, attrs }) => {
    const { coef, rows, entries, offs } = inputs as Record<string, tf.TensorInfo>;
    const { k } = attrs as unknown as { k: number };
    return runner(backend).run(segmentOuterProgram(offs!.shape[1]! - 1, rows!.shape[1]!, k), [coef!, rows!, entries!, offs!], 'float32');
  });
  reg(KERNELS.latentGrad, ({ inputs, backend }) => {
    const { g, vals, idx, wd } = inputs as Record<string, tf.TensorInfo>;
    return runner(backend).run(latentGradProgram(idx!.shape[0]!, idx!.shape[1]!), [g!, vals!, idx!, wd!], 'float32');
  });
}

const run = <T extends tf.Tensor | tf.Tensor[]>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as T;

/** The k largest entries of each row of pre [B, F]: latents ascending [B, k] int32 and their ReLU'd values. */
export function webgpuTopKSelect(pre: tf.Tensor2D, k: number, opts: { radixOnly?: boolean } = {}): { indices: tf.Tensor2D; values: tf.Tensor2D } {
  const indices = run<tf.Tensor2D>(KERNELS.select, { pre }, { k, radix: opts.radixOnly === true });
  const values = run<tf.Tensor2D>(KERNELS.gather, { pre, idx: indices });
  return { indices, values };
}

export function webgpuTopKDecode(values: tf.Tensor2D, indices: tf.Tensor2D, W_D: tf.Tensor2D, b_D: tf.Tensor1D): tf.Tensor2D {
  return run<tf.Tensor2D>(KERNELS.decode, { vals: values, idx: indices, wd: W_D, bd: b_D });
}

/** The (token, slot) pairs grouped by latent: entries [B·k] and offsets [1, F + 1] (latent f owns entries[offs[f]…offs[f+1])). */
export function webgpuLatentCsr(indices: tf.Tensor2D, F: number): { entries: tf.Tensor1D; offsets: tf.Tensor2D } {
  const [entries, offsets] = run<tf.Tensor[]>(KERNELS.csr, { idx: indices }, { F });
  return { entries: entries as tf.Tensor1D, offsets: offsets as tf.Tensor2D };
}

export function webgpuSegmentReduce(coef: tf.Tensor2D, csr: { entries: tf.Tensor1D; offsets: tf.Tensor2D }, mode: 'sum' | 'count'): tf.Tensor1D {
  return run<tf.Tensor1D>(KERNELS.segmentReduce, { coef, entries: csr.entries, offs: csr.offsets }, { mode });
}

/** [F, d]: Σ over latent f's pairs (b, j) of coef[b, j] · rows[b]. */
export function webgpuSegmentOuter(coef: tf.Tensor2D, rows: tf.Tensor2D, csr: { entries: tf.Tensor1D; offsets: tf.Tensor2D }): tf.Tensor2D {
  return run<tf.Tensor2D>(KERNELS.segmentOuter, { coef, rows, entries: csr.entries, offs: csr.offsets }, { k: coef.shape[1] });
}

export function webgpuLatentGrad(g: tf.Tensor2D, values: tf.Tensor2D, indices: tf.Tensor2D, W_D: tf.Tensor2D): tf.Tensor2D {
  return run<tf.Tensor2D>(KERNELS.latentGrad, { g, vals: values, idx: indices, wd: W_D });
}
