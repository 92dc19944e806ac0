// tfjs's _FusedMatMul (matMul + bias + activation, used by tf.fused.matMul) through the addon's sgemm: a bias row
// goes into sgemm's epilogue (sgemmBatchedBias: added where the first K block would read C, the same bits as
// broadcasting it into the output and adding the product to it with beta = 1, which other biases and older
// addons still do), then the activation runs in place.
// Activations other than linear/relu/relu6/leakyrelu, and prelu weights, go to the kernel it replaced.
import { util, type KernelFunc } from '@tensorflow/tfjs-core';
import { planBatchMatMul } from './matmul-plan';
import type { NativeBlas } from './native-blas';
import { nativeOperands, runSgemmPlan } from './native-matmul';
import { tensorMemory, type HostBackendName } from './tensor-memory';

type InPlaceActivation = (c: Float32Array, alpha: number) => void;

// The element functions of tfjs-backend-cpu's Relu, Relu6 and LeakyRelu kernels.
const ACTIVATIONS: Record<string, InPlaceActivation> = {
  linear: () => {},
  relu: (c) => {
    for (let i = 0; i < c.length; i++) if (c[i]! < 0) c[i] = 0;
  },
  relu6: (c) => {
    for (let i = 0; i < c.length; i++) {
      const v = c[i]!;
      if (v < 0) c[i] = 0;
      else if (v > 6) c[i] = 6;
    }
  },
  leakyrelu: (c, alpha) => {
    for (let i = 0; i < c.length; i++) if (c[i]! < 0) c[i] = c[i]! * alpha;
  },
};

let biasEpilogue = true;
/** Off: every bias is broadcast into the output before sgemm, as before sgemmBatchedBias (tests, benchmarks). */
export function setFusedBiasEpilogue(on: boolean): void {
  biasEpilogue = on;
}

export function nativeFusedMatMul(blas: NativeBlas, backendName: HostBackendName, original: KernelFunc): KernelFunc {
  return (args) => {
    const operands = nativeOperands(args.inputs, args.attrs);
    const { bias, preluActivationWeights } = args.inputs;
    const activation = ACTIVATIONS[String(args.attrs?.activation ?? 'linear')];
    if (!operands || !activation || preluActivationWeights) return original(args);
    const { a, b, transposeA, transposeB } = operands;
    const plan = planBatchMatMul(a.shape, b.shape, transposeA, transposeB);
    if (bias && (bias.dtype !== 'float32' || !broadcastsTo(bias.shape, plan.outShape))) return original(args);
    const memory = tensorMemory(backendName, args.backend);
    const out = memory.allocate(plan.outShape); // [...batch, M, N]
    const [va, vb, vc] = [memory.view(a), memory.view(b), memory.view(out)];
    const vbias = bias ? memory.view(bias) : null;
    if (!va || !vb || !vc || (bias && !vbias)) {
      memory.dispose(out);
      return original(args);
    }
    try {
      const n = plan.outShape[plan.outShape.length - 1]!;
      // A bias row under every output row (the usual case): in sgemm's epilogue, else copied by the addon on every core.
      const rowBias = vbias !== null && vbias.length === n && n > 1;
      if (rowBias && biasEpilogue && typeof blas.sgemmBatchedBias === 'function') {
        runSgemmPlan(blas, plan, va, vb, vc, 1, vbias);
      } else {
        if (vbias && bias) {
          const rows = util.sizeFromShape(plan.outShape) / n;
          if (rowBias && typeof blas.broadcastRows === 'function') blas.broadcastRows(vbias, rows, vc);
          else fillBroadcast(vbias, bias.shape, vc, plan.outShape);
        }
        runSgemmPlan(blas, plan, va, vb, vc, vbias ? 1 : 0);
      }
      activation(vc, Number(args.attrs?.leakyreluAlpha ?? 0.2));
    } catch (err) {
      memory.dispose(out);
      throw err;
    }
    return out;
  };
}

/** Whether `shape` broadcasts to `target` without changing it (right-aligned, each dim equal or 1). */
export function broadcastsTo(shape: number[], target: number[]): boolean {
  if (shape.length > target.length) return false;
  return shape.every((d, i) => d === 1 || d === target[target.length - shape.length + i]);
}

/** Writes `src` (of `shape`, which broadcasts to `outShape`) into every row of `out`. */
export function fillBroadcast(src: Float32Array, shape: number[], out: Float32Array, outShape: number[]): void {
  const rank = outShape.length;
  const n = outShape[rank - 1]!;
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  const strides = util.computeStrides(padded).concat(1); // [rank]
  const rowDims = outShape.slice(0, -1);
  const rows = util.sizeFromShape(rowDims);
  const lastIsRow = padded[rank - 1] === n && n !== 1;
  for (let r = 0; r < rows; r++) {
    // offset of this row in src: every dim where src has size 1 reads index 0
    let offset = 0;
    let rest = r;
    for (let d = rank - 2; d >= 0; d--) {
      const i = rest % outShape[d]!;
      rest = Math.floor(rest / outShape[d]!);
      if (padded[d] !== 1) offset += i * strides[d]!;
    }
    if (lastIsRow) out.set(src.subarray(offset, offset + n), r * n);
    else out.fill(src[offset]!, r * n, r * n + n);
  }
}
