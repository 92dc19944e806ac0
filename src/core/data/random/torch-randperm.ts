// torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU, bit for bit: PyTorch's
// randperm_cpu shuffles 0..n-1 forward, swapping r[i] with r[i + mt19937() % (n - i)]
// (aten/src/ATen/native/TensorFactories.cpp, the branch taken for n < 2^32 / 20).
import { Mt19937 } from './mt19937';

const MAX_N = Math.floor(0xffffffff / 20);

export function torchRandperm(n: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n >= MAX_N)
    throw new RangeError(`randperm n=${n}: expected an integer in 0..${MAX_N - 1}`);
  const rng = new Mt19937(seed);
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const j = i + (rng.nextUint32() % (n - i));
    const t = r[i]!;
    r[i] = r[j]!;
    r[j] = t;
  }
  return r;
}
