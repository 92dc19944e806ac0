// The fused TopK training step's three kernels (sae/sparse/fused-step.ts) on the webgpu backend, as WGSL compute
// shaders recorded straight into tfjs-backend-webgpu's command stream (tensor/kernels/webgpu-dispatch.ts):
//   encode      pre = (x − b_D·[applyBias]) W_E + b_E in 128×128 tiles (each thread an 8×8 block, K in stages of
//               16 through workgroup memory, x and W read as vec4 where K and N allow), the TopK selection of
//               sparse-topk-webgpu, then the values after ReLU with the firing counts (integer atomics) — [values,
//               indices, fired]; the batch in row chunks whose pre-activations fit one storage binding;
//   decode      per token (one workgroup) x̂ = b_D + Σ_j v_j W_D[idx_j], the residual y − x̂, Σ residual² and the
//               loss gradient −2 (y − x̂) / B — [g, rowErr];
//   backward    dz = [v > 0] g·W_D[idx] per token; the latent CSR; then each parameter's gradient is summed where its
//               Adam step runs, so no dense gradient is ever written: W_D a row per workgroup (with the unit-norm
//               projection and renormalisation), W_E in 32×32 tiles (gradient tile in workgroup memory, update
//               coalesced along latents), b_E and b_D in their own small passes.
// Every host-side call is one dispatch with its constants in a uniform buffer: no scalar tensors are uploaded and
// no tfjs op runs, which on a GPU is what bounds the general step (≈120 programs and ≈35 uploads per step).
// The arithmetic is the general step's (same formulas), summed in other orders: results agree to float rounding
// (tests/core/sae/fused-step.test.ts holds them to the general webgpu step).
import * as tf from '@tensorflow/tfjs-core';
import { latentCsrInfo, segmentSumInfo, topKSelectInfo, WEBGPU_SPARSE_MAX_K } from '../../tensor/kernels/sparse-topk-webgpu';
import { allocate, dispatchRaw, grid1d, type StorageBinding } from '../../tensor/kernels/webgpu-dispatch';

export const ENCODE = 'SaeSparseTopKEncode';
export const DECODE_RESIDUAL = 'SaeTopKDecodeResidual';
export const BACKWARD_ADAM = 'SaeTopKBackwardAdam';
const PARAMS = ['W_E', 'W_D', 'b_E', 'b_D'] as const;

/** The largest d_model the W_D row pass keeps in registers (32 values per thread of 256). */
export const WEBGPU_FUSED_MAX_D = 8192;
const ROW_WG = 256;

const read = (name: string, tensor: tf.TensorInfo, type = 'f32'): StorageBinding => ({ name, tensor, access: 'read', type });
const write = (name: string, tensor: tf.TensorInfo, type = 'f32'): StorageBinding => ({ name, tensor, access: 'read_write', type });

/** The linear workgroup index of a grid1d() dispatch. */
const WG_INDEX = 'i32(wg.y * nwg.x + wg.x)';
const GRID_BUILTINS = '@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) li : u32';

/** One invocation per element i < n (uniform u.n), 256 to a workgroup: `body` runs with `i` in range. */
function dispatchFlat(backend: unknown, key: string, n: number, storage: StorageBinding[], body: string, uniforms: Array<[string, 'f32' | 'i32', number]> = []): void {
  dispatchRaw(backend, {
    key,
    storage,
    uniforms: [['n', 'i32', n], ...uniforms],
    workgroupSize: [256, 1, 1],
    workgroups: grid1d(Math.ceil(n / 256)),
    builtins: GRID_BUILTINS,
    body: `fn main() {
      let i = ${WG_INDEX} * 256 + i32(li);
      if (i >= u.n) { return; }
      ${body}
    }`,
  });
}

/** Sum of red[0..WG) into red[0], every invocation of the workgroup calling it (WG a power of two). */
function treeReduce(wg: number): string {
  return `
    workgroupBarrier();
    for (var st = ${wg / 2}; st > 0; st = st / 2) {
      if (lane < st) { red[lane] += red[lane + st]; }
      workgroupBarrier();
    }`;
}

/**
 * One Adam step of element i of a parameter whose value, first and second moments are the bindings p, m, v:
 * the general step's formula, p − (m' / (sqrt(v') / sqrtC2 + eps)) · stepSize. Leaves the new value in `pn`.
 */
function adamElement(p: string, m: string, v: string, i: string, grad: string, stepSize: string): string {
  return `
      {
        let gr = ${grad};
        let mn = ${m}[${i}] * u.beta1 + gr * u.omb1;
        let vn = ${v}[${i}] * u.beta2 + (gr * gr) * u.omb2;
        ${m}[${i}] = mn;
        ${v}[${i}] = vn;
        pn = ${p}[${i}] - (mn / (sqrt(vn) / u.sqrtC2 + u.eps)) * ${stepSize};
      }`;
}

type Hyper = Array<[string, 'f32', number]>;

/** The encoder's tiling: k steps per stage of workgroup memory, and whether x and W are read as vec4. */
export interface EncoderTiling {
  bk: 8 | 16;
  vec4: boolean;
}

/** What the fused step uses (chosen on an H200: README, "On a GPU"); bench/gpu.ts changes it to compare tilings. */
export const DEFAULT_ENCODER_TILING: EncoderTiling = { bk: 16, vec4: true };

/**
 * pre [M, N] = (x − bd) [M, K] · w [K, N] + bias: 128×128 output tiles per workgroup of 16×16 threads, each thread
 * rows ty·4 + [0, 4) and 64 + ty·4 + [0, 4) by columns tx·4 + [0, 4) and 64 + tx·4 + [0, 4) (64 accumulators), K in
 * stages of `bk` through workgroup memory (x's tile stored transposed, rows padded to 33 vec4 against bank
 * conflicts). With vec4 (K and N multiples of 4) each thread reads its share of a stage as whole vec4s.
 */
function encoderKernel(backend: unknown, x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo, bd: tf.TensorInfo | null, pre: tf.TensorInfo, tiling: EncoderTiling = DEFAULT_ENCODER_TILING, rowOffset = 0) {
  const K = x.shape[1]!;
  const M = pre.shape[0]!; // pre holds x's rows rowOffset … rowOffset + M
  const N = w.shape[1]!;
  const BK = tiling.bk;
  const vec4 = tiling.vec4 && K % 4 === 0 && N % 4 === 0;
  const fma: string[] = [];
  for (let kk = 0; kk < BK; kk++) {
    fma.push(`{ let a0 = As[${kk * 33} + ty]; let a1 = As[${kk * 33 + 16} + ty]; let b0 = Bs[${kk * 32} + tx]; let b1 = Bs[${kk * 32 + 16} + tx];`);
    ['a0.x', 'a0.y', 'a0.z', 'a0.w', 'a1.x', 'a1.y', 'a1.z', 'a1.w'].forEach((a, r) => fma.push(`c${r}0 += ${a} * b0; c${r}1 += ${a} * b1;`));
    fma.push('}');
  }
  const decl: string[] = [];
  const store: string[] = [];
  for (let r = 0; r < 8; r++) {
    decl.push(`var c${r}0 = vec4<f32>(0.0); var c${r}1 = vec4<f32>(0.0);`);
    const row = r < 4 ? `m0 + ty * 4 + ${r}` : `m0 + 64 + ty * 4 + ${r - 4}`;
    store.push(`{ let m = ${row}; if (m < M) { store4(m, n0 + tx * 4, c${r}0); store4(m, n0 + 64 + tx * 4, c${r}1); } }`);
  }
  // A stage: 128 × BK of x and BK × 128 of w, spread over the 256 threads.
  const load = vec4
    ? `
          for (var q = 0; q < ${BK / 8}; q++) {
            let e = lane + 256 * q;
            let r = e / ${BK / 4}; let c4 = e % ${BK / 4};
            let m = m0 + r; let k = k0 + c4 * 4;
            var v = vec4<f32>(0.0);
            if (m < M && k < K) { v = x[((u.r0 + m) * K + k) / 4]${bd ? ' - bd[k / 4]' : ''}; }
            for (var j = 0; j < 4; j++) { As[(c4 * 4 + j) * 33 + r / 4][r % 4] = v[j]; }
            let kr = e / 32; let n4 = e % 32;
            var wv = vec4<f32>(0.0);
            if (k0 + kr < K && n0 + n4 * 4 < N) { wv = w[((k0 + kr) * N + n0) / 4 + n4]; }
            Bs[kr * 32 + n4] = wv;
          }`
    : `
          for (var q = 0; q < ${BK / 2}; q++) {
            let e = lane + 256 * q;
            let r = e / ${BK}; let c = e % ${BK};
            let m = m0 + r; let k = k0 + c;
            var v = 0.0;
            if (m < M && k < K) { v = x[(u.r0 + m) * K + k]${bd ? ' - bd[k]' : ''}; }
            As[c * 33 + r / 4][r % 4] = v;
            let kr = e / 128; let n = e % 128;
            var wv = 0.0;
            if (k0 + kr < K && n0 + n < N) { wv = w[(k0 + kr) * N + n0 + n]; }
            Bs[kr * 32 + n / 4][n % 4] = wv;
          }`;
  const t = vec4 ? 'vec4<f32>' : 'f32';
  dispatchRaw(backend, {
    key: `SaeTiledEncoder_bk${BK}_${vec4 ? 'vec4' : 'f32'}_${bd ? 'bd' : 'nobd'}`,
    storage: [read('x', x, t), read('w', w, t), read('bias', bias), ...(bd ? [read('bd', bd, t)] : []), write('pre', pre)],
    uniforms: [['M', 'i32', M], ['K', 'i32', K], ['N', 'i32', N], ['r0', 'i32', rowOffset]],
    workgroupSize: [16, 16, 1],
    workgroups: [Math.ceil(N / 128), Math.ceil(M / 128), 1],
    builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>, @builtin(local_invocation_index) li : u32',
    body: `
      var<workgroup> As : array<vec4<f32>, ${BK * 33}>; // [k][128 rows / 4], padded to 33
      var<workgroup> Bs : array<vec4<f32>, ${BK * 32}>; // [k][128 columns / 4]
      fn store4(m : i32, n : i32, c : vec4<f32>) {
        let N = u.N;
        for (var j = 0; j < 4; j++) { if (n + j < N) { pre[m * N + n + j] = c[j] + bias[n + j]; } }
      }
      fn main() {
        let M = u.M; let K = u.K; let N = u.N;
        let tx = i32(lid.x); let ty = i32(lid.y); let lane = i32(li);
        let n0 = i32(wg.x) * 128; let m0 = i32(wg.y) * 128;
        ${decl.join('\n        ')}
        for (var k0 = 0; k0 < K; k0 += ${BK}) {
          ${load}
          workgroupBarrier();
          ${fma.join('\n          ')}
          workgroupBarrier();
        }
        ${store.join('\n        ')}
      }`,
  });
}

/**
 * Rows of the batch one encoder pass takes: the pre-activations [rows, F] must fit one storage binding
 * (2 GiB on an H200, 128 MiB on lavapipe); `cap` lowers it (tests).
 */
function encodeChunkRows(backend: unknown, B: number, F: number, cap?: number): number {
  const limit = (backend as { device: GPUDevice }).device.limits.maxStorageBufferBindingSize;
  const rows = Math.max(1, Math.floor(limit / (4 * F)));
  return Math.min(B, rows, cap ?? Infinity);
}

function registerEncode(): void {
  tf.registerKernel({
    kernelName: ENCODE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, bd } = inputs as Record<string, tf.TensorInfo>;
      const { k, chunkRows } = attrs as unknown as { k: number; chunkRows?: number };
      const [B] = x!.shape as [number, number];
      const F = we!.shape[1]!;
      const kb = backend as tf.KernelBackend;
      const indices = allocate(backend, [B, k], 'int32');
      const values = allocate(backend, [B, k]);
      const counts = allocate(backend, [F], 'int32');
      const fired = allocate(backend, [F]);
      dispatchFlat(backend, 'SaeFusedZeroCounts', F, [write('counts', counts, 'i32')], 'counts[i] = 0;');
      // The batch in row chunks whose pre-activations fit one binding (one chunk at the usual sizes).
      const step = encodeChunkRows(backend, B, F, chunkRows);
      for (let r0 = 0; r0 < B; r0 += step) {
        const rows = Math.min(step, B - r0);
        const pre = allocate(backend, [rows, F]);
        encoderKernel(backend, x!, we!, be!, bd ?? null, pre, DEFAULT_ENCODER_TILING, r0);
        const chosen = topKSelectInfo(backend, pre, k);
        dispatchFlat(backend, 'SaeFusedGatherCount', rows * k,
          [read('pre', pre), read('chosen', chosen, 'i32'), write('values', values), write('indices', indices, 'i32'), write('counts', counts, 'atomic<i32>')], `
            let f = chosen[i];
            let v = max(pre[(i / u.k) * u.F + f], 0.0);
            values[u.at + i] = v;
            indices[u.at + i] = f;
            if (v > 0.0) { atomicAdd(&counts[f], 1); }`,
          [['k', 'i32', k], ['F', 'i32', F], ['at', 'i32', r0 * k]]);
        kb.disposeData(pre.dataId);
        kb.disposeData(chosen.dataId);
      }
      dispatchFlat(backend, 'SaeFusedCountsToFloat', F, [read('counts', counts, 'i32'), write('fired', fired)], 'fired[i] = f32(counts[i]);');
      kb.disposeData(counts.dataId);
      return [values, indices, fired];
    },
  });
}

function registerDecode(): void {
  tf.registerKernel({
    kernelName: DECODE_RESIDUAL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { values, indices, wd, bd, y } = inputs as Record<string, tf.TensorInfo>;
      const { dyRow } = attrs as unknown as { dyRow: number };
      const [B, d] = y!.shape as [number, number];
      const k = values!.shape[1]!;
      const g = allocate(backend, [B, d]);
      const rowErr = allocate(backend, [B]);
      dispatchRaw(backend, {
        key: `SaeFusedDecodeResidual_k${k}_${bd ? 'bd' : 'nobd'}`,
        storage: [read('vals', values!), read('idx', indices!, 'i32'), read('wd', wd!), ...(bd ? [read('bd', bd)] : []), read('y', y!), write('g', g), write('rowErr', rowErr)],
        uniforms: [['B', 'i32', B], ['d', 'i32', d], ['scale', 'f32', -2 * dyRow]],
        workgroupSize: [ROW_WG, 1, 1],
        workgroups: grid1d(B),
        builtins: GRID_BUILTINS,
        body: `
          const K = ${k};
          var<workgroup> sIdx : array<i32, K>;
          var<workgroup> sVal : array<f32, K>;
          var<workgroup> red : array<f32, ${ROW_WG}>;
          fn main() {
            let b = ${WG_INDEX};
            if (b >= u.B) { return; }
            let lane = i32(li);
            let d = u.d;
            for (var j = lane; j < K; j += ${ROW_WG}) { sIdx[j] = idx[b * K + j]; sVal[j] = vals[b * K + j]; }
            workgroupBarrier();
            var sq = 0.0;
            for (var t = lane; t < d; t += ${ROW_WG}) {
              var acc = ${bd ? 'bd[t]' : '0.0'};
              for (var j = 0; j < K; j++) { acc += sVal[j] * wd[sIdx[j] * d + t]; }
              let r = y[b * d + t] - acc;
              g[b * d + t] = r * u.scale;
              sq += r * r;
            }
            red[lane] = sq;
            ${treeReduce(ROW_WG)}
            if (lane == 0) { rowErr[b] = red[0]; }
          }`,
      });
      return [g, rowErr];
    },
  });
}

interface ParamSet {
  p: tf.TensorInfo;
  m: tf.TensorInfo;
  v: tf.TensorInfo;
}

/** The backward kernel's attributes (fused-step.ts fills them; the CPU and webgpu kernels read them alike). */
export interface BackwardAdamAttrs {
  /** Each parameter's Adam step size, in the order W_E, W_D, b_E, b_D. */
  stepSizes: number[];
  /** [beta1, 1 − beta1, beta2, 1 − beta2, eps, sqrt(1 − beta2^t)]. */
  hyper: number[];
  unitRows: boolean;
  applyBias: boolean;
  /** Per parameter (same order): update in place, or into fresh outputs (another tensor shares its data). */
  inPlace: boolean[];
}

/** A BACKWARD_ADAM kernel's inputs by name, its attributes and its sizes, as both backends' kernels read them. */
export function backwardAdamCall(inputs: tf.NamedTensorInfoMap, attrs: unknown): BackwardAdamAttrs & { t: Record<string, tf.TensorInfo>; B: number; d: number; F: number; k: number } {
  const t = inputs as Record<string, tf.TensorInfo>;
  const [B, d] = t.x!.shape as [number, number];
  return { ...(attrs as BackwardAdamAttrs), t, B, d, F: t.W_E!.shape[1]!, k: t.values!.shape[1]! };
}

function registerBackward(): void {
  tf.registerKernel({
    kernelName: BACKWARD_ADAM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { t, B, d, F, k, stepSizes, hyper, unitRows, applyBias, inPlace } = backwardAdamCall(inputs, attrs);
      const kb = backend as tf.KernelBackend;
      const [beta1, omb1, beta2, omb2, eps, sqrtC2] = hyper as [number, number, number, number, number, number];
      const adamUniforms: Hyper = [['beta1', 'f32', beta1], ['omb1', 'f32', omb1], ['beta2', 'f32', beta2], ['omb2', 'f32', omb2], ['eps', 'f32', eps], ['sqrtC2', 'f32', sqrtC2]];

      // Parameters shared with another tensor are first copied into fresh outputs, which then take the update.
      const outs: tf.TensorInfo[] = [];
      const sets: Partial<Record<(typeof PARAMS)[number], ParamSet>> = {};
      PARAMS.forEach((n, i) => {
        if (!t[n]) return;
        const own = { p: t[n]!, m: t[`m_${n}`]!, v: t[`v_${n}`]! };
        if (inPlace[i]) {
          sets[n] = own;
          return;
        }
        const fresh = { p: allocate(backend, own.p.shape), m: allocate(backend, own.p.shape), v: allocate(backend, own.p.shape) };
        const size = own.p.shape.reduce((a, b) => a * b, 1);
        for (const part of ['p', 'm', 'v'] as const) {
          dispatchFlat(backend, 'SaeFusedCopy', size, [read('src', own[part]), write('dst', fresh[part])], 'dst[i] = src[i];');
        }
        outs.push(fresh.p, fresh.m, fresh.v);
        sets[n] = fresh;
      });
      const [sWE, sWD, sBE, sBD] = stepSizes as [number, number, number, number];

      // dz [B, k] = [v > 0] g[b]·W_D[idx]: one workgroup per token, 8 groups of 32 invocations, a slot per group.
      const dz = allocate(backend, [B, k]);
      dispatchRaw(backend, {
        key: `SaeFusedLatentGrad_k${k}`,
        storage: [read('g', t.g!), read('wd', t.W_D!), read('idx', t.indices!, 'i32'), read('vals', t.values!), write('dz', dz)],
        uniforms: [['B', 'i32', B], ['d', 'i32', d]],
        workgroupSize: [256, 1, 1],
        workgroups: grid1d(B),
        builtins: GRID_BUILTINS,
        body: `
          const K = ${k};
          var<workgroup> part : array<f32, 256>;
          fn main() {
            let b = ${WG_INDEX};
            if (b >= u.B) { return; }
            let lane = i32(li);
            let grp = lane / 32;
            let l = lane % 32;
            let d = u.d;
            for (var r = 0; r < ${Math.ceil(k / 8)}; r++) {
              let j = r * 8 + grp;
              var s = 0.0;
              if (j < K) {
                let row = idx[b * K + j] * d;
                for (var c = l; c < d; c += 32) { s += g[b * d + c] * wd[row + c]; }
              }
              part[lane] = s;
              workgroupBarrier();
              if (l == 0 && j < K) {
                var tot = 0.0;
                for (var q = 0; q < 32; q++) { tot += part[grp * 32 + q]; }
                dz[b * K + j] = select(0.0, tot, vals[b * K + j] > 0.0);
              }
              workgroupBarrier();
            }
          }`,
      });

      const { entries, offsets } = latentCsrInfo(backend, t.indices!, F);
      const dbE = segmentSumInfo(backend, dz, entries, offsets);

      // b_D's gradient through the encoder input, W_E·db_E, from W_E before its update.
      const bD = sets.b_D;
      const corr = applyBias && bD ? allocate(backend, [d]) : null;
      if (corr) {
        dispatchRaw(backend, {
          key: 'SaeFusedWeDbE',
          storage: [read('we', t.W_E!), read('dbE', dbE), write('corr', corr)],
          uniforms: [['d', 'i32', d], ['F', 'i32', F]],
          workgroupSize: [256, 1, 1],
          workgroups: grid1d(d),
          builtins: GRID_BUILTINS,
          body: `
            var<workgroup> red : array<f32, 256>;
            fn main() {
              let r = ${WG_INDEX};
              if (r >= u.d) { return; }
              let lane = i32(li);
              var s = 0.0;
              for (var f = lane; f < u.F; f += 256) { s += t_we(r, f); }
              red[lane] = s;
              ${treeReduce(256)}
              if (lane == 0) { corr[r] = red[0]; }
            }
            fn t_we(r : i32, f : i32) -> f32 { return we[r * u.F + f] * dbE[f]; }`,
        });
      }

      // W_E [d, F]: 32 latents × 32 rows per workgroup; the gradient tile Σ dz·(x − b_D) over each latent's
      // segment goes through workgroup memory so the update runs along latents (coalesced).
      const WE = sets.W_E!;
      dispatchRaw(backend, {
        key: `SaeFusedAdamWE_k${k}_${applyBias ? 'bias' : 'nobias'}`,
        storage: [read('entries', entries, 'i32'), read('offs', offsets, 'i32'), read('dz', dz), read('x', t.x!), ...(applyBias ? [read('bd', t.b_D!)] : []),
          write('p', WE.p), write('m', WE.m), write('v', WE.v)],
        uniforms: [['d', 'i32', d], ['F', 'i32', F], ...adamUniforms, ['step', 'f32', sWE]],
        workgroupSize: [256, 1, 1],
        workgroups: [Math.ceil(F / 32), Math.ceil(d / 32), 1],
        builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32',
        body: `
          const K = ${k};
          var<workgroup> gt : array<f32, ${32 * 33}>;
          var<workgroup> seg : array<i32, 33>;
          fn main() {
            let lane = i32(li);
            let l = lane % 32;
            let w = lane / 32;
            let d = u.d; let F = u.F;
            let f0 = i32(wg.x) * 32; let t0 = i32(wg.y) * 32;
            if (lane < 33) { seg[lane] = offs[min(f0 + lane, F)]; }
            workgroupBarrier();
            for (var q = 0; q < 4; q++) {
              let fl = w + 8 * q;
              let c = t0 + l;
              var s = 0.0;
              if (f0 + fl < F && c < d) {
                for (var e = seg[fl]; e < seg[fl + 1]; e++) {
                  let pp = entries[e];
                  s += dz[pp] * (x[(pp / K) * d + c]${applyBias ? ' - bd[c]' : ''});
                }
              }
              gt[fl * 33 + l] = s;
            }
            workgroupBarrier();
            for (var q = 0; q < 4; q++) {
              let r = t0 + w + 8 * q;
              let f = f0 + l;
              if (r < d && f < F) {
                let i = r * F + f;
                var pn = 0.0;
                ${adamElement('p', 'm', 'v', 'i', `gt[l * 33 + w + 8 * q]`, 'u.step')}
                p[i] = pn;
              }
            }
          }`,
      });

      // b_E [F].
      const BE = sets.b_E!;
      dispatchFlat(backend, 'SaeFusedAdamVec', F, [read('grad', dbE), write('p', BE.p), write('m', BE.m), write('v', BE.v)], `
          var pn = 0.0;
          ${adamElement('p', 'm', 'v', 'i', 'grad[i]', 'u.step')}
          p[i] = pn;`,
        [...adamUniforms, ['step', 'f32', sBE]]);

      // W_D [F, d]: a row per workgroup; its gradient Σ v·g over the latent's segment stays in registers through
      // the projection, the Adam step and the renormalisation.
      const WD = sets.W_D!;
      const per = Math.ceil(d / ROW_WG);
      dispatchRaw(backend, {
        key: `SaeFusedAdamWD_k${k}_per${per}_${unitRows ? 'unit' : 'free'}`,
        storage: [read('entries', entries, 'i32'), read('offs', offsets, 'i32'), read('vals', t.values!), read('g', t.g!), write('p', WD.p), write('m', WD.m), write('v', WD.v)],
        uniforms: [['d', 'i32', d], ['F', 'i32', F], ...adamUniforms, ['step', 'f32', sWD]],
        workgroupSize: [ROW_WG, 1, 1],
        workgroups: grid1d(F),
        builtins: GRID_BUILTINS,
        body: `
          const K = ${k};
          const PER = ${per};
          var<workgroup> red : array<f32, ${ROW_WG}>;
          fn main() {
            let f = ${WG_INDEX};
            if (f >= u.F) { return; }
            let lane = i32(li);
            let d = u.d;
            let lo = offs[f]; let hi = offs[f + 1];
            var gr : array<f32, PER>;
            var dot = 0.0;
            for (var q = 0; q < PER; q++) {
              let c = lane + q * ${ROW_WG};
              var s = 0.0;
              if (c < d) {
                for (var e = lo; e < hi; e++) { let pp = entries[e]; s += vals[pp] * g[(pp / K) * d + c]; }
                dot += s * p[f * d + c];
              }
              gr[q] = s;
            }
            ${unitRows ? `red[lane] = dot; ${treeReduce(ROW_WG)} let along = red[0]; workgroupBarrier();` : ''}
            var nsq = 0.0;
            for (var q = 0; q < PER; q++) {
              let c = lane + q * ${ROW_WG};
              if (c < d) {
                let i = f * d + c;
                var pn = 0.0;
                ${adamElement('p', 'm', 'v', 'i', unitRows ? 'gr[q] - along * p[i]' : 'gr[q]', 'u.step')}
                gr[q] = pn;
                nsq += pn * pn;
              }
            }
            ${unitRows ? `red[lane] = nsq; ${treeReduce(ROW_WG)} let norm = sqrt(red[0]);` : ''}
            for (var q = 0; q < PER; q++) {
              let c = lane + q * ${ROW_WG};
              if (c < d) { p[f * d + c] = ${unitRows ? 'gr[q] / norm' : 'gr[q]'}; }
            }
          }`,
      });

      // b_D [d]: Σ_b g[b] in 128-row chunks, then the update (less W_E·db_E where b_D feeds the encoder).
      if (bD) {
        const chunks = Math.ceil(B / 128);
        const partial = allocate(backend, [chunks, d]);
        dispatchRaw(backend, {
          key: 'SaeFusedColumnSums',
          storage: [read('g', t.g!), write('partial', partial)],
          uniforms: [['B', 'i32', B], ['d', 'i32', d]],
          workgroupSize: [256, 1, 1],
          workgroups: [Math.ceil(d / 256), chunks, 1],
          builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32',
          body: `fn main() {
            let c = i32(wg.x) * 256 + i32(li);
            let ch = i32(wg.y);
            if (c >= u.d) { return; }
            var s = 0.0;
            for (var b = ch * 128; b < min(u.B, ch * 128 + 128); b++) { s += g[b * u.d + c]; }
            partial[ch * u.d + c] = s;
          }`,
        });
        dispatchFlat(backend, `SaeFusedAdamBD_${corr ? 'corr' : 'plain'}`, d,
          [read('partial', partial), ...(corr ? [read('corr', corr)] : []), write('p', bD.p), write('m', bD.m), write('v', bD.v)], `
            var s = 0.0;
            for (var ch = 0; ch < u.chunks; ch++) { s += partial[ch * u.n + i]; }
            var pn = 0.0;
            ${adamElement('p', 'm', 'v', 'i', corr ? 's - corr[i]' : 's', 'u.step')}
            p[i] = pn;`,
          [['chunks', 'i32', chunks], ...adamUniforms, ['step', 'f32', sBD]]);
        kb.disposeData(partial.dataId);
      }
      for (const info of [dz, entries, offsets, dbE, ...(corr ? [corr] : [])]) kb.disposeData(info.dataId);
      return outs;
    },
  });
}

const TILED_ENCODER = 'SaeTiledEncoder';

/** pre = x·W + bias by the fused step's 128×128-tile encoder (registered with the step's kernels; for benchmarks and tests). */
export function webgpuTiledEncoder(x: tf.Tensor2D, W: tf.Tensor2D, bias: tf.Tensor1D, tiling: EncoderTiling = DEFAULT_ENCODER_TILING): tf.Tensor2D {
  return tf.engine().runKernel(TILED_ENCODER, { x, w: W, bias }, { ...tiling } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Why the webgpu kernels cannot take this step's shapes (null when they can). */
export function webgpuFusedUnavailable(k: number, d: number): string | null {
  if (k > WEBGPU_SPARSE_MAX_K) return `the webgpu fused step keeps at most k = ${WEBGPU_SPARSE_MAX_K} latents per token (k = ${k})`;
  if (d > WEBGPU_FUSED_MAX_D) return `the webgpu fused step takes d_model ≤ ${WEBGPU_FUSED_MAX_D} (d_model = ${d})`;
  return null;
}

/** Registers the three kernels for the webgpu backend (idempotent). */
export function registerWebGpuFusedStep(): void {
  if (tf.getKernel(BACKWARD_ADAM, 'webgpu')) return;
  registerEncode();
  registerDecode();
  tf.registerKernel({
    kernelName: TILED_ENCODER,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, bias } = inputs as Record<string, tf.TensorInfo>;
      const pre = allocate(backend, [x!.shape[0]!, w!.shape[1]!]);
      encoderKernel(backend, x!, w!, bias!, null, pre, attrs as unknown as EncoderTiling);
      return pre;
    },
  });
  registerBackward();
}
