// The sparse TopK path: the encoder matmul, a per-row top-k selection, and a decoder and backward pass that touch
// only the k selected latents per token. On the CPU backends (cpu, wasm) the work is done by the native addon
// (OpenBLAS + native/src/sparse_topk.c); on webgpu by WGSL programs (tensor/kernels/sparse-topk-webgpu.ts).
// It is a tfjs op with its own gradient, so the trainer uses it like the dense path it is tested against.
// BatchTopK (the batch's B·k largest activations, per-token counts free) runs on the same kernels: see
// batchSelection below.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas, type NativeBlas } from '../../tensor/native/native-blas';
import { checkedMemory, type HostBackendName } from '../../tensor/native/tensor-memory';
import {
  registerWebGpuSparseTopK, WEBGPU_SPARSE_MAX_K, webgpuLatentCsr, webgpuLatentGrad, webgpuSegmentOuter, webgpuSegmentReduce, webgpuTopKDecode, webgpuTopKSelect,
} from '../../tensor/kernels/sparse-topk-webgpu';
import { registerWebGpuFusedStep, webgpuTiledEncoder } from './fused-step-webgpu';
import { webgpuBindingLimit } from '../../tensor/webgpu-guard';

/** The addon's sparse TopK entry points (native/src/sparse_topk_napi.c). */
export interface SparseTopKKernels {
  /** preScratch (B·F floats) serves the sgemm path; null lets the addon allocate it when it needs one. */
  topkEncode(x: Float32Array, bDecIn: Float32Array | null, W_E: Float32Array, b_E: Float32Array, B: number, d: number, F: number, k: number,
    preScratch: Float32Array | null, values: Float32Array, indices: Int32Array, fired: Float32Array | null): void;
  /**
   * Whether the encoder screens with 8-bit integer dot products (AVX-512 VNNI) and recomputes only the candidates in fp32
   * (native/src/topk_screen.c) instead of the full sgemm; with an argument, switches screening on or off first.
   * The selected latents are the same either way. Older builds of the addon lack it.
   */
  topkScreening?(on?: boolean): boolean;
  topkDecode(values: Float32Array, indices: Int32Array, W_D: Float32Array, b_D: Float32Array | null, B: number, k: number, d: number, F: number, out: Float32Array): void;
  topkBackward(g: Float32Array, x: Float32Array, bDecIn: Float32Array | null, values: Float32Array, indices: Int32Array, W_E: Float32Array, W_D: Float32Array,
    B: number, d: number, F: number, k: number, dW_E: Float32Array | null, db_E: Float32Array | null, dW_D: Float32Array | null, db_D: Float32Array | null): void;
}

export interface SparseTopKResult {
  recon: tf.Tensor2D; // [B, d]
  values: tf.Tensor2D; // [B, k], ReLU applied
  indices: tf.Tensor2D; // [B, k] int32
  /** [d_sae] tokens each latent fired on. */
  fired: tf.Tensor1D;
  /** BatchTopK: the batch's threshold (its B·k-th largest activation, at least 0). */
  threshold?: tf.Scalar;
}

/**
 * BatchTopK keeps the B·k largest activations of a batch — ReLU(pre) ≥ t, t the B·k-th largest (and at least 0) —
 * as many per token as fall there. The sparse path finds them with the TopK kernels: every token's top w
 * latents (w ≈ 1.5k, learned per shape: see selectBatch), then t among those B·w values. That t is the batch's own when no token can have a value ≥ t it did
 * not list: a token whose smallest listed value is 0 or below t has nothing left out that reaches t, and if
 * every token is so, the batch's B·k largest are all listed. A token whose listed values are all ≥ t (and > 0)
 * may have more, so those tokens alone are encoded again with twice the slots and t is taken again over the
 * longer lists (it can only rise: the list grew, and tokens already complete stay so) until none is left
 * (at d_sae latents a token lists everything).
 */
export interface BatchSelection {
  threshold: number;
  /** Each token's listed activations (ReLU applied) and latents: its top `values[r].length`. */
  values: Float32Array[];
  indices: Int32Array[];
}

/** The top `width` latents of each of `rows` (every token when null), ReLU applied: [rows, width] each. */
export type RowsEncoder = (rows: number[] | null, width: number) => { values: Float32Array; indices: Int32Array };

/** The first pass's slots for each shape (and backend): what left all but ~2% of the last batch's tokens complete. */
const firstWidths = new Map<string, number>();

/** BatchTopK's selection over B tokens, k per token on average (see above). With `key` (the shape), the first
 * pass's slots are learned from the previous batch: 1.5k at first, then one more than the 98th percentile of the
 * tokens' kept counts, so a batch whose tokens hold more (a trained dictionary's spread) does not send many of them
 * to a second pass. (`npm run bench`'s random batch, d 256 / 4096 / k 32: it settles at 52–59 slots; fixed widths
 * gave 2k 57–58 ms per step, 1.5k 54–56, 1.25k 62–63 — too many tokens in the second pass.) */
export function selectBatch(B: number, F: number, k: number, encode: RowsEncoder, key?: string): BatchSelection {
  const steps = batchSelector(B, F, k, key);
  for (let r = steps.next(); ; ) {
    if (r.done) return r.value;
    r = steps.next(encode(...r.value));
  }
}

/** selectBatch with an encoder that answers later (webgpu: its results are read back asynchronously). */
export async function selectBatchAsync(B: number, F: number, k: number, encode: (...a: Parameters<RowsEncoder>) => Promise<ReturnType<RowsEncoder>>,
  key?: string): Promise<BatchSelection> {
  const steps = batchSelector(B, F, k, key);
  for (let r = steps.next(); ; ) {
    if (r.done) return r.value;
    r = steps.next(await encode(...r.value));
  }
}

/** selectBatch's logic, asking for each encoding it needs (rows, width) and given its result. */
function* batchSelector(B: number, F: number, k: number, key?: string): Generator<Parameters<RowsEncoder>, BatchSelection, ReturnType<RowsEncoder>> {
  let width = Math.min(F, (key && firstWidths.get(key)) || Math.ceil(1.5 * k));
  const first = yield [null, width];
  const values = Array.from({ length: B }, (_, r) => first.values.subarray(r * width, (r + 1) * width));
  const indices = Array.from({ length: B }, (_, r) => first.indices.subarray(r * width, (r + 1) * width));
  let pending: number[] | null = null; // the tokens that may still be short (all, at first)
  for (;;) {
    const threshold = rthLargestNonNegative(concat(values), B * k);
    const short: number[] = (pending ?? values.map((_, r) => r)).filter((r: number) => {
      const v = values[r]!;
      if (v.length >= F) return false;
      let min = Infinity;
      for (let j = 0; j < v.length; j++) min = Math.min(min, v[j]!);
      return min > 0 && min >= threshold;
    });
    if (short.length === 0) {
      if (key) firstWidths.set(key, Math.min(F, Math.max(k, keptQuantile(values, threshold, 0.98) + 1)));
      return { threshold, values, indices };
    }
    width = Math.min(F, 2 * Math.max(...short.map((r) => values[r]!.length)));
    const more = yield [short, width];
    short.forEach((r, i) => {
      values[r] = more.values.subarray(i * width, (i + 1) * width);
      indices[r] = more.indices.subarray(i * width, (i + 1) * width);
    });
    pending = short;
  }
}

/** The [B, W] codes of a selection (W its longest list): each token's kept activations first, by latent (so the
 * decoder sums them in one order whatever the slots were — they are learned, and a resumed run starts afresh), then
 * zeros; and the firings per latent. Written into v, idx ([B·W]) and counts ([F]). The zeros take latents the
 * token did not keep — a row never names a latent twice, which the webgpu backward's ranking relies on — spread
 * over all latents (from (r·W) mod F on), so no latent's segment there gathers them all. */
export function batchCodes(sel: BatchSelection, W: number, v: Float32Array, idx: Int32Array, counts: Float32Array): void {
  const F = counts.length;
  v.fill(0), counts.fill(0);
  const th = sel.threshold;
  const kept = new Uint8Array(F);
  sel.values.forEach((rv, r) => {
    const ri = sel.indices[r]!;
    const row = r * W;
    let n = row;
    for (let j = 0; j < rv.length; j++) {
      if (!(rv[j]! >= th && rv[j]! > 0)) continue;
      // insertion by latent (the screen lists latents in order already; the sgemm path's heap does not)
      let at = n++;
      for (; at > row && idx[at - 1]! > ri[j]!; at--) v[at] = v[at - 1]!, idx[at] = idx[at - 1]!;
      v[at] = rv[j]!;
      idx[at] = ri[j]!;
      counts[ri[j]!]!++;
    }
    for (let q = row; q < n; q++) kept[idx[q]!] = 1;
    for (let q = n, f = row % F; q < row + W; q++, f = (f + 1) % F) {
      while (kept[f]) f = (f + 1) % F;
      idx[q] = f;
    }
    for (let q = row; q < n; q++) kept[idx[q]!] = 0;
  });
}

/** The q-quantile of the tokens' counts of activations ≥ threshold (and > 0). */
function keptQuantile(values: Float32Array[], threshold: number, q: number): number {
  const counts = new Int32Array(values.length);
  values.forEach((v, r) => {
    let n = 0;
    for (let j = 0; j < v.length; j++) n += v[j]! > 0 && v[j]! >= threshold ? 1 : 0;
    counts[r] = n;
  });
  counts.sort();
  return counts[Math.min(counts.length - 1, Math.floor(q * counts.length))]!;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/** The r-th largest (1-based) of non-negative floats, by a two-pass radix select on their bits (which order
 * non-negative floats as their values do; a −0 counts as 0). */
export function rthLargestNonNegative(v: Float32Array, r: number): number {
  if (r < 1 || r > v.length) throw new RangeError(`rank ${r} of ${v.length} values`);
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const key = (i: number) => (u[i]! === 0x80000000 ? 0 : u[i]!);
  const hist = new Uint32Array(65536);
  for (let i = 0; i < u.length; i++) hist[key(i) >>> 16]!++;
  let above = 0, hi = 65535;
  for (; hi > 0 && above + hist[hi]! < r; hi--) above += hist[hi]!;
  hist.fill(0);
  for (let i = 0; i < u.length; i++) if (key(i) >>> 16 === hi) hist[key(i) & 0xffff]!++;
  let lo = 65535;
  for (; lo > 0 && above + hist[lo]! < r; lo--) above += hist[lo]!;
  return new Float32Array(Uint32Array.of(((hi << 16) | lo) >>> 0).buffer)[0]!;
}

/** Why the sparse path cannot run here (for this k, when given), or null when it can. */
export function sparseTopKUnavailable(k?: number): string | null {
  const backend = tf.getBackend();
  if (backend === 'webgpu') {
    if (k !== undefined && k > WEBGPU_SPARSE_MAX_K) return `the webgpu sparse TopK kernels keep at most k = ${WEBGPU_SPARSE_MAX_K} latents per token (k = ${k})`;
    registerWebGpuSparseTopK();
    registerWebGpuFusedStep(); // its tiled encoder serves this path's forward too
    return null;
  }
  if (backend !== 'cpu' && backend !== 'wasm') return `the sparse TopK kernels run on the webgpu, cpu and wasm backends (active: ${backend})`;
  const load = loadNativeBlas();
  if (!load.blas) return load.reason;
  if (typeof (load.blas as NativeBlas & Partial<SparseTopKKernels>).topkEncode !== 'function') return 'the native addon lacks the sparse TopK kernels (rebuild it: npm run build:native)';
  return null;
}

function kernels(): SparseTopKKernels {
  const reason = sparseTopKUnavailable();
  if (reason) throw new Error(reason);
  return loadNativeBlas().blas as unknown as SparseTopKKernels;
}

let scratch = new Float32Array(0);
/** The sgemm path's [B, F] pre-activations, one buffer kept and grown for every call (screened encodes need none). */
export function preScratch(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/**
 * BatchTopK's encode on the host backends (a kernel's body): the selection's passes on the addon (x − shift, when
 * shift is given, through W_E and b_E), then the codes in fresh outputs — values and indices [B, W], the firings
 * [F] and the threshold [].
 */
export function hostBatchEncode(backendName: HostBackendName, backend: unknown, K: SparseTopKKernels, x: tf.TensorInfo, shift: tf.TensorInfo | null,
  we: tf.TensorInfo, be: tf.TensorInfo, k: number): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const [B, d] = x.shape as [number, number];
  const F = we.shape[1]!;
  const mem = checkedMemory(backendName, backend, 'BatchTopK encode');
  // The selection's passes write to plain arrays (no tensor is allocated until it is done, so views stay valid).
  const sel = selectBatch(B, F, k, (rows, width) => {
    const n = rows ? rows.length : B;
    let xs = mem.f32(x);
    if (rows) {
      const sub = new Float32Array(n * d);
      rows.forEach((r, i) => sub.set(xs.subarray(r * d, (r + 1) * d), i * d));
      xs = sub;
    }
    const out = { values: new Float32Array(n * width), indices: new Int32Array(n * width) };
    const scratchFor = K.topkScreening?.() ? null : preScratch(n * F);
    K.topkEncode(xs, shift ? mem.f32(shift) : null, mem.f32(we), mem.f32(be), n, d, F, width, scratchFor, out.values, out.indices, null);
    return out;
  }, `${backendName}:${B}:${F}:${k}`);
  const W = Math.max(...sel.values.map((v) => v.length));
  const outs: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] = [mem.allocate([B, W]), mem.allocateInt32([B, W]), mem.allocate([F]), mem.allocate([])];
  batchCodes(sel, W, mem.f32(outs[0]), mem.i32(outs[1]), mem.f32(outs[2]));
  mem.f32(outs[3])[0] = sel.threshold;
  return outs;
}

const FORWARD = 'SaeSparseTopKForward';
const BATCH_FORWARD = 'SaeSparseBatchTopKForward';
const BACKWARD = 'SaeSparseTopKBackward';

/**
 * The forward and backward passes as kernels of the wasm and cpu backends, so the addon reads and writes the
 * tensors' own memory: no copies of W_E, W_D or the batch in and out of JavaScript arrays each step.
 */
function registerHostKernels(backendName: HostBackendName): void {
  if (tf.getKernel(FORWARD, backendName)) return;
  const K = kernels();
  /** The forward kernels' inputs (bd is b_D, or zeros without one) and attributes. */
  const forwardArgs = (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) => {
    const { x, we, be, wd, bd } = inputs as Record<string, tf.TensorInfo>;
    const { k, applyBias, hasBias } = attrs as unknown as { k: number; applyBias: boolean; hasBias: boolean };
    const [B, d] = x!.shape as [number, number];
    return { x: x!, we: we!, be: be!, wd: wd!, bd: bd!, k, applyBias, hasBias, B, d, F: we!.shape[1]! };
  };
  tf.registerKernel({
    kernelName: FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, wd, bd, k, applyBias, hasBias, B, d, F } = forwardArgs(inputs, attrs);
      const mem = checkedMemory(backendName, backend, FORWARD);
      const outs = [mem.allocate([B, d]), mem.allocate([B, k]), mem.allocateInt32([B, k]), mem.allocate([F])];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const view = mem.f32;
      const bias = hasBias ? view(bd) : null;
      const [recon, values, indices, fired] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
      const idx = mem.i32(indices);
      const scratchFor = K.topkScreening?.() ? null : preScratch(B * F);
      K.topkEncode(view(x), applyBias ? bias : null, view(we), view(be), B, d, F, k, scratchFor, view(values), idx, view(fired));
      K.topkDecode(view(values), idx, view(wd), bias, B, k, d, F, view(recon));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BATCH_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, wd, bd, k, applyBias, hasBias, B, d, F } = forwardArgs(inputs, attrs);
      const mem = checkedMemory(backendName, backend, BATCH_FORWARD);
      const [values, indices, fired, t] = hostBatchEncode(backendName, backend, K, x, applyBias && hasBias ? bd : null, we, be, k);
      const recon = mem.allocate([B, d]);
      const view = mem.f32; // after the last allocation (a wasm heap may grow)
      const W = values.shape[1]!;
      const v = view(values), idx = mem.i32(indices);
      K.topkDecode(v, idx, view(wd), hasBias ? view(bd) : null, B, W, d, F, view(recon));
      return [recon, values, indices, fired, t];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, x, bd, values, indices, we, wd } = inputs as Record<string, tf.TensorInfo>;
      const { applyBias } = attrs as unknown as { applyBias: boolean };
      const [B, d] = x!.shape as [number, number];
      const F = we!.shape[1]!;
      const k = values!.shape[1]!;
      const mem = checkedMemory(backendName, backend, BACKWARD);
      const outs = [mem.allocate([d, F]), mem.allocate([F]), mem.allocate([F, d]), mem.allocate([d])];
      const view = mem.f32;
      const idx = mem.i32(indices!);
      const [dW_E, db_E, dW_D, db_D] = outs.map(view) as [Float32Array, Float32Array, Float32Array, Float32Array];
      K.topkBackward(view(dy!), view(x!), applyBias ? view(bd!) : null, view(values!), idx, view(we!), view(wd!), B, d, F, k, dW_E, db_E, dW_D, db_D);
      return outs;
    },
  });
}

export interface SparseTopKOptions {
  /** On webgpu, caps the rows encoded at once (tests; the binding limit sets it otherwise). */
  chunkRows?: number;
  /** BatchTopK: the batch's B·k largest activations instead of k per token (see selectBatch). */
  batch?: boolean;
  /** BatchTopK on webgpu: the batch's codes, selected beforehand (preselectBatchTopK). */
  selection?: PreselectedBatch;
}

/** A batch's BatchTopK codes on the GPU ([B, W], see batchCodes) and its threshold; the caller disposes them. */
export interface PreselectedBatch {
  values: tf.Tensor2D;
  indices: tf.Tensor2D;
  threshold: tf.Scalar;
}

/**
 * BatchTopK's selection on webgpu, before the step. Whether a token needs more slots is decided on the host, and
 * tfjs's webgpu backend reads back only asynchronously in Node (no OffscreenCanvas), so it cannot happen inside
 * the op: the trainer awaits this, then runs the step with `selection`. The same passes as on the CPU (selectBatch)
 * over the WGSL encoder and selection, reading back each pass's values and latents (B × ~1.7k of each per batch).
 */
export async function preselectBatchTopK(x: tf.Tensor2D, W_E: tf.Tensor2D, b_E: tf.Tensor1D, b_D: tf.Tensor1D | null, k: number, applyBias: boolean): Promise<PreselectedBatch> {
  const reason = sparseTopKUnavailable(k);
  if (reason) throw new Error(reason);
  const [B] = x.shape;
  const F = W_E.shape[1];
  const xin = tf.tidy(() => (applyBias && b_D ? tf.sub(x, b_D) : tf.clone(x)) as tf.Tensor2D);
  try {
    const sel = await selectBatchAsync(B, F, k, async (rows, width) => {
      if (width > WEBGPU_SPARSE_MAX_K) {
        throw new Error(`batchtopk on webgpu: a token of this batch may hold more of its ${B * k} largest activations than the webgpu selection lists per token (${WEBGPU_SPARSE_MAX_K}); set sparse_path to off`);
      }
      const part = rows ? tf.tidy(() => tf.gather(xin, tf.tensor1d(rows, 'int32'))) : xin;
      const out = encodeSelectWebGpu(part, W_E, b_E, width);
      try {
        const [values, indices] = await Promise.all([out.values.data(), out.indices.data()]);
        return { values: values as Float32Array, indices: indices as Int32Array };
      } finally {
        tf.dispose([out.values, out.indices, ...(rows ? [part] : [])]);
      }
    }, `webgpu:${B}:${F}:${k}`);
    const W = Math.max(...sel.values.map((v) => v.length));
    const v = new Float32Array(B * W), idx = new Int32Array(B * W);
    batchCodes(sel, W, v, idx, new Float32Array(F));
    return { values: tf.tensor2d(v, [B, W]), indices: tf.tensor2d(idx, [B, W], 'int32'), threshold: tf.scalar(sel.threshold) };
  } finally {
    xin.dispose();
  }
}

/**
 * recon = Σ_j ReLU(topk(pre))_j W_D[idx_j] + b_D with pre = (x − b_D·[applyBias]) W_E + b_E; gradients flow to
 * W_E, b_E, W_D and b_D (x is data and gets none). With `batch`, BatchTopK's selection: values and indices then
 * have a row's slots (unselected ones 0), and the threshold comes back.
 */
export function sparseTopK(x: tf.Tensor2D, W_E: tf.Tensor2D, b_E: tf.Tensor1D, W_D: tf.Tensor2D, b_D: tf.Tensor1D | null, k: number, applyBias: boolean, opts: SparseTopKOptions = {}): SparseTopKResult {
  const backendName = tf.getBackend();
  if (backendName === 'webgpu') return sparseTopKWebGpu(x, W_E, b_E, W_D, b_D, k, applyBias, opts);
  registerHostKernels(backendName as HostBackendName);
  const [, d] = x.shape;
  const bias = b_D ?? tf.zeros([d]);
  const useBias = applyBias && b_D !== null;
  let side: Omit<SparseTopKResult, 'recon'> | undefined;
  // The gradient reads x, W_E, W_D, b_D and the forward's values and indices as they are, not saved copies:
  // tfjs's save() clones what it keeps, which on wasm copies the batch and both weight matrices every step. The
  // batch and the variables outlive the backward pass (they are only replaced after it), and the values and
  // indices are the ones handed to the caller, who must keep them until the gradient is taken (trainStep
  // disposes them after). x is data, so it is not an input of the op and gets no gradient.
  const op = tf.customGrad(((we: tf.Tensor, be: tf.Tensor, wd: tf.Tensor, bd: tf.Tensor) => {
    const [recon, values, indices, fired, threshold] = tf.engine().runKernel(opts.batch ? BATCH_FORWARD : FORWARD, { x, we, be, wd, bd }, { k, applyBias: useBias, hasBias: b_D !== null } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    side = { values: tf.keep(values!) as tf.Tensor2D, indices: tf.keep(indices!) as tf.Tensor2D, fired: tf.keep(fired!) as tf.Tensor1D, ...(threshold ? { threshold: tf.keep(threshold) as tf.Scalar } : {}) };
    return {
      value: recon!,
      gradFunc: (dy: tf.Tensor) => {
        if (values!.isDisposed || indices!.isDisposed) throw new Error('sparse TopK: the forward\'s values and indices were disposed before the gradient was taken');
        return tf.engine().runKernel(BACKWARD, { dy, x, values: values!, indices: indices!, we, wd, ...(useBias ? { bd } : {}) }, { applyBias: useBias } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const recon = op(W_E, b_E, W_D, bias) as tf.Tensor2D;
  if (!b_D) bias.dispose();
  return { recon, ...side! };
}

/**
 * The top k of x·W_E + b_E per row on webgpu. The [B, d_sae] pre-activations are one storage binding, so a batch
 * whose pre-activations pass the device's binding limit (128 MiB on lavapipe: 4096 × 24576 floats are 384 MiB)
 * is encoded and selected in chunks of rows that fit, each chunk's pre-activations released before the next.
 */
function encodeSelectWebGpu(xin: tf.Tensor2D, we: tf.Tensor2D, be: tf.Tensor1D, k: number, chunkRows?: number): { values: tf.Tensor2D; indices: tf.Tensor2D } {
  const [B, d] = xin.shape;
  const F = we.shape[1];
  const rows = Math.max(1, Math.min(B, chunkRows ?? Infinity, Math.floor((webgpuBindingLimit() ?? Infinity) / (4 * F))));
  if (rows >= B) {
    const pre = webgpuTiledEncoder(xin, we, be);
    const out = webgpuTopKSelect(pre, k);
    pre.dispose();
    return out;
  }
  const values: tf.Tensor2D[] = [], indices: tf.Tensor2D[] = [];
  for (let r0 = 0; r0 < B; r0 += rows) {
    const part = tf.slice(xin, [r0, 0], [Math.min(rows, B - r0), d]);
    const pre = webgpuTiledEncoder(part, we, be);
    const out = webgpuTopKSelect(pre, k);
    tf.dispose([part, pre]);
    values.push(out.values), indices.push(out.indices);
  }
  const out = { values: tf.concat(values, 0), indices: tf.concat(indices, 0) };
  tf.dispose([...values, ...indices]);
  return out;
}

/** The same op on webgpu: every step stays on the GPU (no read-back; BatchTopK's selection, which reads back, is
 * made before it). `chunkRows` caps the rows encoded at once (tests; the binding limit sets it otherwise). */
function sparseTopKWebGpu(x: tf.Tensor2D, W_E: tf.Tensor2D, b_E: tf.Tensor1D, W_D: tf.Tensor2D, b_D: tf.Tensor1D | null, k: number, applyBias: boolean, opts: SparseTopKOptions): SparseTopKResult {
  const reason = sparseTopKUnavailable(opts.batch ? undefined : k);
  if (opts.batch && !opts.selection) throw new Error('BatchTopK on webgpu takes its selection from preselectBatchTopK, made before the step');
  if (reason) throw new Error(reason);
  const [, d] = x.shape;
  const F = W_E.shape[1];
  const bias = b_D ?? tf.zeros([d]);
  const subtractBias = applyBias && b_D !== null;
  let side: Omit<SparseTopKResult, 'recon'> | undefined;
  const op = tf.customGrad(((xs: tf.Tensor2D, we: tf.Tensor2D, be: tf.Tensor1D, wd: tf.Tensor2D, bd: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const xin: tf.Tensor2D = subtractBias ? tf.sub(xs, bd) : xs;
    const { indices, values } = opts.selection ?? encodeSelectWebGpu(xin, we, be, k, opts.chunkRows);
    const recon = webgpuTopKDecode(values, indices, wd, bd);
    // The latent CSR serves the backward pass; a forward-only call (analysis, evaluation) counts firings without it.
    const recording = (tf.engine().state as { gradientDepth?: number }).gradientDepth !== 0;
    const csr = recording ? webgpuLatentCsr(indices, F) : null;
    const fired = csr
      ? webgpuSegmentReduce(values, csr, 'count')
      : tf.tidy(() => tf.unsortedSegmentSum(tf.cast(tf.greater(values, 0), 'float32').flatten(), indices.flatten(), F) as tf.Tensor1D);
    save(csr ? [xin, we, wd, values, indices, csr.entries, csr.offsets] : [xin, we, wd, values, indices]);
    side = { values: tf.keep(values.clone()), indices: tf.keep(indices.clone()), fired: tf.keep(fired), ...(opts.selection ? { threshold: tf.keep(opts.selection.threshold.clone()) } : {}) };
    return {
      value: recon,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxin, swe, swd, sv, si, sentries, soffsets] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        const csrSaved = { entries: sentries, offsets: soffsets };
        const dz = webgpuLatentGrad(g, sv, si, swd); // [B, k]
        const dW_D = webgpuSegmentOuter(sv, g, csrSaved); // [F, d]
        const dW_Et = webgpuSegmentOuter(dz, sxin, csrSaved); // [F, d]
        const dW_E = tf.transpose(dW_Et); // [d, F]
        const db_E = webgpuSegmentReduce(dz, csrSaved, 'sum'); // [F]
        // b_D reaches the output directly and, when subtracted from the encoder's input, through W_E: −W_E·db_E.
        const db_D = subtractBias ? tf.sub(tf.sum(g, 0), tf.reshape(tf.matMul(swe, tf.reshape(db_E, [F, 1])), [d])) : tf.sum(g, 0);
        tf.dispose([dz, dW_Et]);
        return [tf.zerosLike(xs), dW_E, db_E, dW_D, db_D];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const recon = op(x, W_E, b_E, W_D, bias) as tf.Tensor2D;
  if (!b_D) bias.dispose();
  return { recon, ...side! };
}
