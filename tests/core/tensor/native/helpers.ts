// Shared pieces of the native matmul suites: whether the addon loaded (suites skip with its reason when not),
// and seeded random matrices so failures reproduce.
import { afterAll, beforeAll } from 'vitest';
import { loadNativeBlas } from '../../../../src/core/tensor/native/native-blas';
import {
  registerNativeMatMul,
  type NativeMatMulRegistration,
} from '../../../../src/core/tensor/native/register-native-matmul';
import type { HostBackendName } from '../../../../src/core/tensor/native/tensor-memory';

export const nativeLoad = loadNativeBlas();
export const skipReason = nativeLoad.blas ? '' : ` (skipped: ${nativeLoad.reason})`;

/** Uniform values in [-1, 1) from a mulberry32 stream. */
export function randomArray(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

/** The stored shape of an operand whose logical (untransposed) shape is [...batch, rows, cols]. */
export function stored(shape: number[], transposed: boolean): number[] {
  if (!transposed) return shape;
  const [r, c] = shape.slice(-2) as [number, number];
  return [...shape.slice(0, -2), c, r];
}

export const TRANSPOSES = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/**
 * Puts the native kernels in place for the suite (after describeEachBackend's beforeAll has started the backend)
 * and returns `withOriginal`, which runs a function on tfjs's own kernels.
 */
export function useNativeMatMul(backend: HostBackendName): { withOriginal<T>(fn: () => T): T } {
  let registration: NativeMatMulRegistration | undefined;
  const register = () => {
    const status = registerNativeMatMul(backend);
    if (!status.registered) throw new Error(status.reason);
    registration = status;
  };
  beforeAll(register);
  afterAll(() => registration?.restore());
  return {
    withOriginal: (fn) => {
      registration?.restore();
      try {
        return fn();
      } finally {
        register();
      }
    },
  };
}

/** The outcome of `fn` as data: its value, or the message it threw (to compare two kernels' behaviour). */
export function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
