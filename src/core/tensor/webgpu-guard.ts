// WebGPU reports a rejected command (a validation error: a buffer bound past the adapter's storage binding limit,
// an out-of-memory) asynchronously, as an event on the device, and then runs nothing of the command buffer it was
// in: tfjs does not listen, so the tensors such work should have written read back as zeros, silently. (Seen on
// lavapipe: a GPT-2-small forward whose 154 MB embedding passes the 128 MiB binding limit returned all-zero
// logits.) The guard records the device's errors and makes the next read of any tensor fail with the first of
// them, in one line; `checkWebGpuBinding` refuses a tensor too large to bind before any work is queued.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';

interface GuardedBackend {
  device: GPUDevice;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

const guarded = new WeakSet<object>();
const pending = new WeakMap<object, { first: string; count: number }>();

function backendOf(b: unknown): GuardedBackend | null {
  const x = b as Partial<GuardedBackend> | null;
  return x && x.device && typeof x.read === 'function' && typeof x.readSync === 'function'
    ? (x as GuardedBackend)
    : null;
}

function raise(b: GuardedBackend): void {
  const e = pending.get(b);
  if (!e) return;
  pending.delete(b);
  const more = e.count > 1 ? ` (and ${e.count - 1} more)` : '';
  throw new Error(
    `webgpu: the GPU rejected queued work, so results would be wrong: ${e.first}${more}; try --backend wasm, or smaller batches`,
  );
}

/** Installs the guard on the active webgpu backend (once per backend). */
export function installWebGpuGuard(): void {
  const b = backendOf(tf.backend());
  if (!b || guarded.has(b)) return;
  guarded.add(b);
  b.device.addEventListener('uncapturederror', (ev) => {
    const message = ((ev as GPUUncapturedErrorEvent).error?.message ?? 'unknown error').split('\n')[0]!.trim();
    const e = pending.get(b);
    if (e) e.count++;
    else pending.set(b, { first: message, count: 1 });
  });
  const read = b.read.bind(b);
  const readSync = b.readSync.bind(b);
  b.read = async (dataId: object) => {
    const values = await read(dataId);
    raise(b);
    return values;
  };
  b.readSync = (dataId: object) => {
    const values = readSync(dataId);
    raise(b);
    return values;
  };
}

/** The largest buffer the active webgpu device binds to a shader, or null on other backends. */
export function webgpuBindingLimit(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return backendOf(tf.backend())?.device.limits.maxStorageBufferBindingSize ?? null;
}

/** Throws a one-line InputError when a float32 tensor of `shape` cannot be bound on the active webgpu device. */
export function checkWebGpuBinding(what: string, shape: readonly number[]): void {
  const limit = webgpuBindingLimit();
  if (limit === null) return;
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  if (bytes > limit) {
    const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    throw new InputError(
      `${what} [${shape.join(', ')}] takes ${mb(bytes)}, more than this GPU binds to a shader (${mb(limit)}): use --backend wasm (or a GPU with a larger maxStorageBufferBindingSize)`,
    );
  }
}
