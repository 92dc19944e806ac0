// Compute shaders of our own recorded into tfjs-backend-webgpu's command stream, for what its program runner cannot
// express: several outputs from one dispatch, parameters updated in place (read_write bindings), atomics and f32
// uniforms. The dispatch goes into the backend's open compute pass, after every program tfjs has recorded and before
// every later one, so the ordering of tfjs's own queue holds; buffers come from (and return to) its buffer pool.
//
// This reaches into WebGPUBackend members that are not part of its typed API (tfjs-backend-webgpu is pinned at
// 4.22.0 in package.json; the webgpu tests exercise every member used here).
import * as tf from '@tensorflow/tfjs-core';

/** The members of tfjs-backend-webgpu's WebGPUBackend (4.22) a raw dispatch needs. */
interface WebGpuBackendInternals {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource: unknown; values: unknown } | undefined };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  getQueryTime(): Promise<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  makeUniforms(fields: Array<{ type: 'float32' | 'int32' | 'uint32'; data: number[] }>): GPUBufferBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export type Access = 'read' | 'read_write';

/** One storage binding: a tensor, how the shader uses it, and the WGSL element type it is declared with. */
export interface StorageBinding {
  name: string;
  tensor: tf.TensorInfo;
  access: Access;
  /** 'f32' (default), 'i32', or an atomic type for read_write bindings ('atomic<u32>', 'atomic<i32>'). */
  type?: string;
}

export interface RawKernel {
  /** Identifies the shader text: kernels with equal keys must have equal code. */
  key: string;
  storage: StorageBinding[];
  /** Uniform fields in order, each a 32-bit scalar ('name' → [type, value]); the shader reads them as u.name. */
  uniforms?: Array<[string, 'f32' | 'i32' | 'u32', number]>;
  workgroupSize: [number, number, number];
  workgroups: [number, number, number];
  /** WGSL after the bindings: must define `fn main(@builtin(...) ...)` with the @compute attributes supplied here. */
  body: string;
  /** The parameter list of main, e.g. '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) lane : u32'. */
  builtins: string;
}

const pipelines = new WeakMap<GPUDevice, Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>();

export function webgpuInternals(backend: unknown): WebGpuBackendInternals {
  const b = backend as Partial<WebGpuBackendInternals>;
  if (
    !b.device ||
    typeof b.makeUniforms !== 'function' ||
    typeof b.uploadToGPU !== 'function' ||
    typeof b.ensureCommandEncoderReady !== 'function'
  ) {
    throw new Error('webgpu raw dispatch: the active backend is not tfjs-backend-webgpu 4.22');
  }
  return b as WebGpuBackendInternals;
}

/** A fresh output tensor of the backend, with its buffer acquired (contents undefined until a shader writes it). */
export function allocate(backend: unknown, shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.TensorInfo {
  const b = webgpuInternals(backend);
  const info = b.makeTensorInfo(shape, dtype);
  b.uploadToGPU(info.dataId);
  return info;
}

function shaderSource(k: RawKernel): string {
  const decls = k.storage.map(
    (s, i) => `@group(0) @binding(${i}) var<storage, ${s.access}> ${s.name} : array<${s.type ?? 'f32'}>;`,
  );
  const fields = k.uniforms ?? [];
  const uniform = fields.length
    ? `struct Uniforms { ${fields.map(([n, t]) => `${n} : ${t},`).join(' ')} }\n@group(0) @binding(${k.storage.length}) var<uniform> u : Uniforms;`
    : '';
  return `${decls.join('\n')}\n${uniform}\n${k.body.replace('fn main(', `@compute @workgroup_size(${k.workgroupSize.join(', ')})\nfn main(${k.builtins}`)}`;
}

function pipelineFor(b: WebGpuBackendInternals, k: RawKernel) {
  let cache = pipelines.get(b.device);
  if (!cache) pipelines.set(b.device, (cache = new Map()));
  const key = `${k.key}|${k.workgroupSize.join(',')}|${k.storage.map((s) => `${s.access}:${s.type ?? 'f32'}`).join(',')}|${(k.uniforms ?? []).map((f) => f[1]).join(',')}`;
  let entry = cache.get(key);
  if (!entry) {
    const entries: GPUBindGroupLayoutEntry[] = k.storage.map((s, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: s.access === 'read' ? 'read-only-storage' : 'storage' },
    }));
    if (k.uniforms?.length)
      entries.push({ binding: k.storage.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
    const layout = b.device.createBindGroupLayout({ entries });
    const module = b.device.createShaderModule({ code: shaderSource(k) });
    const pipeline = b.device.createComputePipeline({
      layout: b.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    entry = { pipeline, layout };
    cache.set(key, entry);
  }
  return entry;
}

/** Records one dispatch of `k` into the backend's command stream. */
export function dispatchRaw(backend: unknown, k: RawKernel): void {
  if (k.workgroups.some((n) => n === 0)) return;
  const b = webgpuInternals(backend);
  for (const s of k.storage) b.uploadToGPU(s.tensor.dataId);
  const { pipeline, layout } = pipelineFor(b, k);
  const resources: GPUBufferBinding[] = k.storage.map((s) => {
    const res = b.tensorMap.get(s.tensor.dataId)?.resource;
    if (!(res instanceof GPUBuffer)) throw new Error(`webgpu raw dispatch ${k.key}: '${s.name}' has no GPU buffer`);
    return { buffer: res };
  });
  if (k.uniforms?.length) {
    const type = { f32: 'float32', i32: 'int32', u32: 'uint32' } as const;
    resources.push(b.makeUniforms(k.uniforms.map(([, t, v]) => ({ type: type[t], data: [v] }))));
  }
  const bindGroup = b.device.createBindGroup({
    layout,
    entries: resources.map((resource, binding) => ({ binding, resource })),
  });
  b.ensureCommandEncoderReady();
  // Under tf.profile (activeTimers set) each dispatch gets a pass of its own with timestamps, as tfjs times its
  // programs: the profile's extraInfo then lists every dispatch by key.
  const timed = b.activeTimers != null && b.supportTimestampQuery;
  if (timed) {
    b.endComputePassEncoder();
    b.querySet ??= b.device.createQuerySet({ type: 'timestamp', count: b.querySetCount });
    b.computePassEncoder = b.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: b.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else if (!b.computePassEncoder) {
    b.computePassEncoder = b.commandEncoder!.beginComputePass({});
  }
  const pass = b.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...k.workgroups);
  for (const s of k.storage) {
    b.commandQueueOwnedIds.add(s.tensor.dataId);
    // A tensor written here may have been read before: tfjs keeps what it read on the host and would hand out
    // those stale values again (it assumes tensors never change). Dropped, so the next read comes from the GPU.
    if (s.access === 'read_write') b.tensorMap.get(s.tensor.dataId)!.values = null;
  }
  b.dispatchCountInPass++;
  if (timed) {
    b.endComputePassEncoder();
    b.activeTimers!.push({ name: k.key, query: b.getQueryTime() });
  } else if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= b.dispatchCountInPass) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}

/** Workgroup counts for `n` workgroups of a 1-D grid, folded into y where x would pass the per-dimension limit. */
export function grid1d(n: number, maxPerDim = 65535): [number, number, number] {
  if (n <= maxPerDim) return [Math.max(n, 0), 1, 1];
  return [maxPerDim, Math.ceil(n / maxPerDim), 1];
}
