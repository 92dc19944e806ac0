// Loads the optional OpenBLAS addon (native/build/Release/sae_blas.node, built by `npm run build:native`) that the
// native matmul kernels call. Missing or broken, it yields a one-line reason and the caller keeps tfjs's kernels.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../resources/resource-dir';

/** The addon's exports (native/src/sae_blas.c). Every matrix is row-major; nothing is copied. */
export interface NativeBlas {
  /** C = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when trans is set; C is M x N. */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
  ): void;
  /** `batch` sgemms; matrix i of an operand starts i · stride elements in (stride 0 broadcasts it). */
  sgemmBatched(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, strideA: number, b: Float32Array, ldb: number, strideB: number,
    beta: number, c: Float32Array, ldc: number, strideC: number, batch: number,
  ): void;
  /** OpenBLAS's thread count (defaults to every core, or OPENBLAS_NUM_THREADS). */
  threads(): number;
  setThreads(n: number): void;
  info(): { config: string; corename: string; procs: number };
  /** out = `rows` copies of row, on every core (a matmul's bias under its output; newer builds of the addon). */
  broadcastRows?(row: Float32Array, rows: number, out: Float32Array): void;
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
  const missing = (['sgemm', 'sgemmBatched', 'threads', 'setThreads', 'info'] as const)
    .filter((f) => typeof mod.exports[f] !== 'function');
  if (missing.length > 0) return { blas: null, reason: `native BLAS addon ${path} lacks ${missing.join(', ')}` };
  return { blas: mod.exports as NativeBlas, path };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
