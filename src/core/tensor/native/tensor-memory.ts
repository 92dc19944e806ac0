// Zero-copy Float32Array views of float32 tensors on tfjs's wasm and cpu backends, and output allocation, for
// kernels that hand tensor memory straight to native code.
import { util, type DataId, type TensorInfo } from '@tensorflow/tfjs-core';

export type HostBackendName = 'wasm' | 'cpu';

export interface TensorMemory {
  /** A new float32 tensor of `shape` on the backend (its contents are undefined). */
  allocate(shape: number[]): TensorInfo;
  /** The same for int32. */
  allocateInt32(shape: number[]): TensorInfo;
  /**
   * A view of a float32 tensor's memory, or null where the backend holds it in another form. On wasm a view
   * dies when the heap grows: take views after the last `allocate` and do not keep them.
   */
  view(t: TensorInfo): Float32Array | null;
  /** The same for an int32 tensor. */
  viewInt32(t: TensorInfo): Int32Array | null;
  dispose(t: TensorInfo): void;
}

/** The parts of tfjs-backend-wasm's BackendWasm used here (see its kernels, e.g. BatchMatMul.ts). */
interface WasmBackend {
  dataIdMap: { get(dataId: DataId): { memoryOffset: number | null } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  disposeData(dataId: DataId): void;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU used here. */
interface CpuBackend {
  data: { get(dataId: DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32', values: Float32Array | Int32Array): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export function tensorMemory(name: HostBackendName, backend: unknown): TensorMemory {
  return name === 'wasm' ? wasmMemory(backend as WasmBackend) : cpuMemory(backend as CpuBackend);
}

/**
 * tensorMemory with views that throw, naming `label` (the kernel) and the backend, where a tensor is not held as
 * plain memory, for kernels that cannot run without it.
 */
export function checkedMemory(
  name: HostBackendName,
  backend: unknown,
  label: string,
): TensorMemory & {
  f32(t: TensorInfo): Float32Array;
  i32(t: TensorInfo): Int32Array;
} {
  const mem = tensorMemory(name, backend);
  const fail = (): never => {
    throw new Error(`${label}: tensor memory is not addressable on ${name}`);
  };
  return { ...mem, f32: (t) => mem.view(t) ?? fail(), i32: (t) => mem.viewInt32(t) ?? fail() };
}

function wasmMemory(backend: WasmBackend): TensorMemory {
  return {
    allocate: (shape) => backend.makeOutput(shape, 'float32'),
    allocateInt32: (shape) => backend.makeOutput(shape, 'int32'),
    view: (t) => {
      const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
      if (t.dtype !== 'float32' || offset == null) return null;
      // HEAPU8 is replaced whenever the heap grows, so the buffer is read at each call, never cached.
      return new Float32Array(backend.wasm.HEAPU8.buffer, offset, util.sizeFromShape(t.shape));
    },
    viewInt32: (t) => {
      const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
      if (t.dtype !== 'int32' || offset == null) return null;
      return new Int32Array(backend.wasm.HEAPU8.buffer, offset, util.sizeFromShape(t.shape));
    },
    dispose: (t) => backend.disposeData(t.dataId),
  };
}

function cpuMemory(backend: CpuBackend): TensorMemory {
  return {
    // makeTensorInfo keeps the array it is given, so it can be written after the tensor exists.
    allocate: (shape) => backend.makeTensorInfo(shape, 'float32', new Float32Array(util.sizeFromShape(shape))),
    allocateInt32: (shape) => backend.makeTensorInfo(shape, 'int32', new Int32Array(util.sizeFromShape(shape))),
    view: (t) => {
      const values = backend.data.get(t.dataId)?.values;
      if (t.dtype !== 'float32' || !(values instanceof Float32Array)) return null;
      return values.length === util.sizeFromShape(t.shape) ? values : null;
    },
    viewInt32: (t) => {
      const values = backend.data.get(t.dataId)?.values;
      if (t.dtype !== 'int32' || !(values instanceof Int32Array)) return null;
      return values.length === util.sizeFromShape(t.shape) ? values : null;
    },
    dispose: (t) => backend.disposeIntermediateTensorInfo(t),
  };
}
