// The training step of a TopK SAE as three kernels, where the general step runs the sparse op, the loss, tfjs's
// backpropagation and one Adam kernel per parameter:
//   1. encode (the TopK: values, indices, firings; BatchTopK on the CPU backends: the batch's selection, see
//      selectBatch in sparse-topk.ts, and its threshold);
//   2. decode with the loss: per token the reconstruction, the residual y − x̂, Σ residual² and the gradient of
//      the mean reconstruction loss, −2 (y − x̂) / B, with the reconstruction itself never written;
//   3. backward with Adam: each parameter takes its Adam step as soon as its gradient is complete (a W_D row right
//      after its latent, W_E a group of latents at a time), so the gradients of W_E and W_D never reach memory,
//      and parameters no other tensor shares are updated in place.
// On the CPU backends they are native passes (the screened encoder; native/src) doing every float operation of the
// general step in the same order, so both give the same parameters and moments to the bit; on webgpu they are
// WGSL dispatches (fused-step-webgpu.ts) that agree with the general step to float rounding. The tests hold them
// to that. It applies when the step is exactly that: the sparse path, the reconstruction loss alone, no clipping.
import * as tf from '@tensorflow/tfjs-core';
import { registerNativeAdam } from '../../tensor/kernels/adam-update';
import { loadNativeBlas } from '../../tensor/native/native-blas';
import { checkedMemory, type HostBackendName } from '../../tensor/native/tensor-memory';
import type { Adam } from '../optim/adam';
import type { StepSettings, StepStats } from '../train-step';
import { Sae } from '../variants/sae';
import { BACKWARD_ADAM, backwardAdamCall, DECODE_RESIDUAL, ENCODE, registerWebGpuFusedStep, webgpuFusedUnavailable } from './fused-step-webgpu';
import { hostBatchEncode, preScratch, sparseTopKUnavailable, type SparseTopKKernels } from './sparse-topk';

/** BatchTopK's encode for the fused step on the CPU backends: [values, indices, fired, threshold] (hostBatchEncode). */
const ENCODE_BATCH = 'SaeSparseBatchTopKEncode';

interface FusedKernels extends SparseTopKKernels {
  topkDecodeResidual(values: Float32Array, indices: Int32Array, W_D: Float32Array, b_D: Float32Array | null, y: Float32Array, dy: Float32Array,
    B: number, k: number, d: number, F: number, g: Float32Array, rowErr: Float32Array): void;
  topkBackwardAdam(g: Float32Array, x: Float32Array, bDecIn: Float32Array | null, values: Float32Array, indices: Int32Array, B: number, d: number, F: number, k: number,
    W_E: Float32Array[], W_D: Float32Array[], b_E: Float32Array[], b_D: Float32Array[] | null, stepSizes: number[], hyper: number[], unitRows: boolean): void;
}

const PARAMS = ['W_E', 'W_D', 'b_E', 'b_D'] as const;

function nativeKernels(): FusedKernels | null {
  const k = loadNativeBlas().blas as unknown as Partial<FusedKernels> | null;
  return k && typeof k.topkBackwardAdam === 'function' && typeof k.topkDecodeResidual === 'function' && typeof k.topkEncode === 'function' ? (k as FusedKernels) : null;
}

function register(backendName: HostBackendName, K: FusedKernels): void {
  if (tf.getKernel(BACKWARD_ADAM, backendName)) return;
  tf.registerKernel({
    kernelName: ENCODE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, bd } = inputs as Record<string, tf.TensorInfo>;
      const { k } = attrs as unknown as { k: number };
      const [B, d] = x!.shape as [number, number];
      const F = we!.shape[1]!;
      const mem = checkedMemory(backendName, backend, ENCODE);
      const outs = [mem.allocate([B, k]), mem.allocateInt32([B, k]), mem.allocate([F])];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const scratch = K.topkScreening?.() ? null : preScratch(B * F);
      K.topkEncode(mem.f32(x!), bd ? mem.f32(bd) : null, mem.f32(we!), mem.f32(be!), B, d, F, k, scratch, mem.f32(outs[0]!), mem.i32(outs[1]!), mem.f32(outs[2]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: ENCODE_BATCH,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, bd } = inputs as Record<string, tf.TensorInfo>;
      return hostBatchEncode(backendName, backend, K, x!, bd ?? null, we!, be!, (attrs as unknown as { k: number }).k);
    },
  });
  tf.registerKernel({
    kernelName: DECODE_RESIDUAL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { values, indices, wd, bd, y } = inputs as Record<string, tf.TensorInfo>;
      const { dyRow } = attrs as unknown as { dyRow: number };
      const [B, d] = y!.shape as [number, number];
      const [F] = wd!.shape as [number, number];
      const k = values!.shape[1]!;
      const mem = checkedMemory(backendName, backend, DECODE_RESIDUAL);
      const outs = [mem.allocate([B, d]), mem.allocate([B])];
      K.topkDecodeResidual(mem.f32(values!), mem.i32(indices!), mem.f32(wd!), bd ? mem.f32(bd) : null, mem.f32(y!), new Float32Array(B).fill(dyRow), B, k, d, F,
        mem.f32(outs[0]!), mem.f32(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD_ADAM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { t, B, d, F, k, stepSizes, hyper, unitRows, applyBias, inPlace } = backwardAdamCall(inputs, attrs);
      // Fresh outputs for the parameters not updated in place, in PARAMS order.
      const fresh = PARAMS.filter((n, i) => t[n] && !inPlace[i]);
      const mem = checkedMemory(backendName, backend, BACKWARD_ADAM);
      const outs = fresh.flatMap((n) => [mem.allocate(t[n]!.shape), mem.allocate(t[n]!.shape), mem.allocate(t[n]!.shape)]);
      const view = mem.f32;
      const param = (n: (typeof PARAMS)[number]) => {
        if (!t[n]) return null;
        const own = [view(t[n]!), view(t[`m_${n}`]!), view(t[`v_${n}`]!)];
        const i = fresh.indexOf(n);
        return i < 0 ? [...own, ...own] : [...own, view(outs[3 * i]!), view(outs[3 * i + 1]!), view(outs[3 * i + 2]!)];
      };
      K.topkBackwardAdam(view(t.g!), view(t.x!), applyBias ? view(t.b_D!) : null, view(t.values!), mem.i32(t.indices!), B, d, F, k,
        param('W_E')!, param('W_D')!, param('b_E')!, param('b_D'), stepSizes, hyper, unitRows);
      return outs;
    },
  });
}

/** Why the fused step cannot take this step (null when it can). */
export function fusedTopKStepUnavailable(dict: unknown, adam: Adam, s: StepSettings): string | null {
  if (s.fused === false) return 'switched off';
  if (!s.sparse) return 'not on the sparse path';
  if (!(dict instanceof Sae)) return 'not an sae dictionary';
  const cfg = dict.cfg;
  if ((cfg.act_fn !== 'topk' && cfg.act_fn !== 'batchtopk') || cfg.sparsity_include_decoder_norm) return 'not a TopK or BatchTopK SAE without decoder norms in its selection';
  const names = Object.keys(dict.params);
  if (!names.every((n) => (PARAMS as readonly string[]).includes(n)) || !dict.params.W_E || !dict.params.b_E || !dict.params.W_D) return 'parameters other than W_E, b_E, W_D, b_D';
  if (names.some((n) => !adam.m.has(n))) return 'the optimiser does not hold every parameter';
  if (s.clipGradNorm > 0) return 'gradient clipping';
  const o = s.loss;
  if ((o.sparsityLossType && o.l1Coefficient > 0) || o.lpCoefficient > 0 || (o.auxkCoefficient > 0 && o.deadMask && o.nDead > 0)) return 'losses besides the reconstruction';
  const backend = tf.getBackend();
  if (backend === 'webgpu' && cfg.act_fn === 'batchtopk') return 'BatchTopK on webgpu takes the general step (its batch is selected before it)';
  if (backend === 'webgpu') {
    const why = webgpuFusedUnavailable(s.k ?? cfg.top_k, dict.params.W_D.shape[1]!);
    if (why) return why;
    registerWebGpuFusedStep();
    return null;
  }
  if (backend !== 'cpu' && backend !== 'wasm') return `backend ${backend}`;
  const why = sparseTopKUnavailable(cfg.act_fn === 'batchtopk' ? undefined : s.k ?? cfg.top_k);
  if (why) return why;
  const K = nativeKernels();
  if (!K) return 'the native addon lacks the fused kernels (rebuild it: npm run build:native)';
  if (!registerNativeAdam(backend)) return 'no native Adam kernel';
  register(backend, K);
  return null;
}

/** The step of trainStep (same results) for a dictionary and settings fusedTopKStepUnavailable accepts. */
export function fusedTopKStep(dict: Sae, adam: Adam, x: tf.Tensor2D, y: tf.Tensor2D, s: StepSettings): StepStats {
  const cfg = dict.cfg;
  const p = dict.params as Record<string, tf.Variable>;
  const k = s.k ?? cfg.top_k;
  const B = x.shape[0];
  const applyBias = cfg.apply_decoder_bias_to_pre_encoder && !!p.b_D;
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];

  // BatchTopK (CPU backends): the batch's selection, [B, W] codes with zeros where a token keeps fewer.
  const batch = cfg.act_fn === 'batchtopk';
  const [values, indices, fired, threshold] = run(batch ? ENCODE_BATCH : ENCODE, { x, we: p.W_E!, be: p.b_E!, ...(applyBias ? { bd: p.b_D! } : {}) }, { k }) as
    [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Scalar | undefined];
  // The loss is the mean over tokens of Σ (y − x̂)²; its gradient per token, 1 / B, as tfjs's Mean gradient makes it.
  const [g, rowErr] = run(DECODE_RESIDUAL, { values, indices, wd: p.W_D!, ...(p.b_D ? { bd: p.b_D } : {}), y }, { dyRow: Math.fround(1 / B) }) as [tf.Tensor2D, tf.Tensor1D];

  const step = adam.begin(s.lr, s.lrFactors);
  const inputs: tf.NamedTensorMap = { g, x, values, indices };
  for (const n of PARAMS) if (p[n]) Object.assign(inputs, { [n]: p[n], [`m_${n}`]: adam.m.get(n)!, [`v_${n}`]: adam.v.get(n)! });
  // A parameter whose value and moments no other tensor shares (tfjs shares data between clones, and a variable
  // with the tensor it was made from) is updated in place: no fresh 3 × its size to allocate and write, and none
  // of the memory traffic of bringing those new lines into cache. Shared ones get fresh outputs.
  const backend = tf.backend() as unknown as { refCount(dataId: object): number };
  const alone = (t: tf.Tensor) => backend.refCount(t.dataId) === 1;
  const inPlace = PARAMS.map((n) => !!p[n] && alone(p[n]) && alone(adam.m.get(n)!) && alone(adam.v.get(n)!));
  const { beta1, beta2, eps } = adam.opts;
  const outs = run(BACKWARD_ADAM, inputs, {
    stepSizes: PARAMS.map((n) => (p[n] ? step.stepSize(n) : 0)),
    hyper: [beta1, 1 - beta1, beta2, 1 - beta2, eps, step.sqrtC2],
    unitRows: s.unitNormDecoder,
    applyBias,
    inPlace,
  });
  PARAMS.filter((n, i) => p[n] && !inPlace[i]).forEach((n, i) => adam.update(n, outs[3 * i]!, outs[3 * i + 1]!, outs[3 * i + 2]!));
  tf.dispose([...outs, g]);

  const withMetrics = s.metrics ?? true;
  const parts = tf.tidy(() => {
    const l_rec = tf.mean(rowErr) as tf.Scalar;
    // The other parts are zero: the total is l_rec itself (the general step's l_rec + 0 + 0 + 0), and the zeros
    // stay on the host (on webgpu an addN would upload them every step).
    const [l_s, l_p, l_aux] = [tf.scalar(0), tf.scalar(0), tf.scalar(0)];
    return { total: tf.clone(l_rec), l_rec, l_s, l_p, l_aux };
  });
  const metrics = withMetrics
    ? tf.tidy(() => ({
        l0: tf.div(tf.sum(tf.cast(tf.greater(values, 0), 'float32')), B) as tf.Scalar,
        residualSq: tf.sum(rowErr) as tf.Scalar,
        totalSq: tf.sum(tf.square(tf.sub(y, tf.mean(y, 0)))) as tf.Scalar,
      }))
    : { l0: null, residualSq: null, totalSq: null };
  const stats: StepStats = { parts, ...metrics, fired, batchThreshold: threshold ?? null };
  tf.dispose([values, indices, rowErr]);
  return stats;
}
