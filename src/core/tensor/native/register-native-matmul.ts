// Puts the native sgemm kernels in place of tfjs's BatchMatMul and _FusedMatMul for the wasm or cpu backend (called
// explicitly by the backend bootstrap, never on import). The replaced kernels stay reachable: as the fallback
// for inputs sgemm does not take, and through `restore()` for comparisons.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas, type NativeBlas, type NativeBlasLoad } from './native-blas';
import { nativeFusedMatMul } from './native-fused-matmul';
import { nativeBatchMatMul } from './native-matmul';
import type { HostBackendName } from './tensor-memory';

export interface NativeMatMulRegistration {
  registered: true;
  backendName: HostBackendName;
  blas: NativeBlas;
  /** e.g. "own sgemm (avx512, 2 threads)" or "OpenBLAS 0.3.21 sgemm (Haswell, 2 threads)" */
  description: string;
  /** Puts tfjs's own kernels back. */
  restore(): void;
}

export type NativeMatMulStatus = NativeMatMulRegistration | { registered: false; reason: string };

const active = new Map<HostBackendName, NativeMatMulRegistration>();

/**
 * Replaces the matmul kernels of `backendName` (whose tfjs package must already be imported) when the addon
 * loads; otherwise returns why not, and tfjs's kernels stay. Idempotent per backend.
 */
export function registerNativeMatMul(
  backendName: HostBackendName,
  load: NativeBlasLoad = loadNativeBlas(),
): NativeMatMulStatus {
  const existing = active.get(backendName);
  if (existing) return existing;
  if (!load.blas) return { registered: false, reason: load.reason };
  const blas = load.blas;
  const batchMatMul = tf.getKernel(tf.BatchMatMul, backendName);
  if (!batchMatMul) {
    return { registered: false, reason: `tfjs has no BatchMatMul kernel for '${backendName}' (backend not imported)` };
  }
  const fused = tf.getKernel(tf._FusedMatMul, backendName);
  const originals = fused ? [batchMatMul, fused] : [batchMatMul];
  replace(batchMatMul, nativeBatchMatMul(blas, backendName, batchMatMul.kernelFunc));
  if (fused) replace(fused, nativeFusedMatMul(blas, backendName, fused.kernelFunc));
  const info = blas.info();
  const registration: NativeMatMulRegistration = {
    registered: true,
    backendName,
    blas,
    description:
      info.backend === 'own'
        ? `own sgemm (${info.isa ?? info.corename}, ${blas.threads()} threads)`
        : `${info.config.split(' ').slice(0, 2).join(' ')} sgemm (${info.corename}, ${blas.threads()} threads)`,
    restore: () => {
      if (active.get(backendName) !== registration) return;
      for (const config of originals) replace(config, config.kernelFunc);
      active.delete(backendName);
    },
  };
  active.set(backendName, registration);
  return registration;
}

/** Swaps the kernel function, keeping tfjs's setup/dispose hooks (they initialise the replaced kernel's state). */
function replace(config: tf.KernelConfig, kernelFunc: tf.KernelFunc): void {
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel({ ...config, kernelFunc });
}
