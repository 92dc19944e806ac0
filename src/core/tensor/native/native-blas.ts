// Loads the optional native addon (native/build/Release/sae_blas.node, built by `npm run build:native`: our own sgemm,
// OpenBLAS/Accelerate where linked, the sparse kernels). Missing or broken, it yields a one-line reason instead.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../resources/resource-dir';

/** The addon's exports (native/src/sae_blas.c). Every matrix is row-major; nothing is copied. */
export interface NativeBlas {
  /** C = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when trans is set; C is M x N. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** `batch` sgemms; matrix i of an operand starts i · stride elements in (stride 0 broadcasts it). */
  sgemmBatched(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    strideA: number,
    b: Float32Array,
    ldb: number,
    strideB: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  /**
   * sgemmBatched with beta = 1 on a C whose every row holds `bias` (N values), to the bit, but C is only written:
   * our sgemm adds the bias where it would have read C back (newer builds of the addon).
   */
  sgemmBatchedBias?(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    strideA: number,
    b: Float32Array,
    ldb: number,
    strideB: number,
    bias: Float32Array,
    c: Float32Array,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  /**
   * c = post(a·b + bias) for row-major a [m, k], b [k, n], c and r [m, n]; post 0 none, 1 + r, 2 the tanh GELU:
   * the bits of sgemmBatchedBias (or sgemm without a bias) then the add or geluNew over c (newer builds of the
   * addon); false, doing nothing, for the GELU on a CPU without AVX-512.
   */
  sgemmPost?(
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    post: 0 | 1 | 2,
    r: Float32Array | null,
    c: Float32Array,
  ): boolean;
  /** The sgemm's thread count (every core by default, or OMP_NUM_THREADS / OPENBLAS_NUM_THREADS). */
  threads(): number;
  /** Sets the thread count of our sgemm and of the system BLAS alike. */
  setThreads(n: number): void;
  info(): NativeBlasInfo;
  /** Which sgemm runs: ours, or the system BLAS (false where none is linked; older builds lack this). */
  setBlas?(which: 'own' | 'system'): boolean;
  /** Forces our sgemm's micro-kernel (tests, benchmarks); false, unchanged, where this CPU cannot run it. */
  setIsa?(isa: 'portable' | 'avx2' | 'avx512' | 'best'): boolean;
  /** out = `rows` copies of row, on every core (a matmul's bias under its output; newer builds of the addon). */
  broadcastRows?(row: Float32Array, rows: number, out: Float32Array): void;
}

export interface NativeBlasInfo {
  /** The sgemm in use: "own (avx512, 2 threads)", "openblas (Zen)" or "accelerate" (absent in older builds). */
  blas?: string;
  /** "own", "openblas" or "accelerate". */
  backend?: string;
  /** The system BLAS linked at build time, "" for none. */
  system?: string;
  /** Our sgemm's micro-kernel: "avx512", "avx2" or "portable". */
  isa?: string;
  /** OpenBLAS's build config and core name while it is in use; "own sgemm" and the ISA for ours. */
  config: string;
  corename: string;
  procs: number;
}

export type NativeBlasLoad = { blas: NativeBlas; path: string } | { blas: null; reason: string };

export const NATIVE_ADDON_NAME = 'sae_blas';
const DISABLED = new Set(['0', 'off', 'false', 'none']);
let cached: NativeBlasLoad | undefined;

/**
 * The addon named by SAE_STUDIO_NATIVE (a path to a .node file; `off` disables it), else the package's own build.
 * Loaded once per process; later calls return the same outcome.
 */
export function loadNativeBlas(): NativeBlasLoad {
  cached ??= openNativeBlas(process.env.SAE_STUDIO_NATIVE);
  return cached;
}

/** Loads the addon at `override` (or the package's build when empty) without caching; `off` disables it. */
export function openNativeBlas(override?: string): NativeBlasLoad {
  if (override !== undefined && DISABLED.has(override.toLowerCase())) {
    return { blas: null, reason: `native BLAS disabled by SAE_STUDIO_NATIVE=${override}` };
  }
  let path: string;
  try {
    path = override || join(packageRoot(), 'native', 'build', 'Release', `${NATIVE_ADDON_NAME}.node`);
  } catch (err) {
    return { blas: null, reason: (err as Error).message };
  }
  if (!existsSync(path)) {
    return { blas: null, reason: `native BLAS addon not built (${path} is missing; run npm run build:native)` };
  }
  // Read by OpenBLAS and libgomp when the addon loads: BLAS worker threads that spin after each sgemm would
  // otherwise fight the OpenMP threads of the sparse kernels for this machine's few cores.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const mod: { exports: Partial<NativeBlas> } = { exports: {} };
  try {
    // dlopen rather than require(): the path is computed, and a .node file needs nothing else of require.
    process.dlopen(mod, path);
  } catch (err) {
    return { blas: null, reason: `native BLAS addon ${path} failed to load: ${firstLine((err as Error).message)}` };
  }
  const missing = (['sgemm', 'sgemmBatched', 'threads', 'setThreads', 'info'] as const).filter(
    (f) => typeof mod.exports[f] !== 'function',
  );
  if (missing.length > 0) return { blas: null, reason: `native BLAS addon ${path} lacks ${missing.join(', ')}` };
  return { blas: mod.exports as NativeBlas, path };
}

/** The sgemm the native kernels use, e.g. "own (avx512, 2 threads)", or undefined without the addon. */
export function nativeBlasName(): string | undefined {
  const load = loadNativeBlas();
  if (!load.blas) return undefined;
  const info = load.blas.info();
  return info.blas ?? `${info.config.split(' ').slice(0, 2).join(' ')} (${info.corename})`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
