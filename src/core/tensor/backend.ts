// Compute-backend bootstrap: picks webgpu (Dawn through the `webgpu` npm package) when a real adapter exists,
// else wasm, else cpu; `SAE_STUDIO_BACKEND` or an explicit request overrides the choice.
import * as tf from '@tensorflow/tfjs-core';
// The union package's Node bundle registers tfjs's gradients (tfjs-core's own Node bundle has none) and the cpu backend.
import '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { registerCustomGradients } from './gradients';
import { loadNativeBlas, nativeBlasName } from './native/native-blas';
import { registerNativeMatMul } from './native/register-native-matmul';
import { registerCustomKernels } from './kernels/register-custom-kernels';
import { installWebGpuGuard } from './webgpu-guard';

export const BACKEND_NAMES = ['webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** Human-readable description of the device, e.g. the WebGPU adapter or "wasm (XNNPACK, 1 thread)". */
  device: string;
  /** Why a faster backend was not used, when the choice fell back. */
  fallbackReasons: string[];
}

export class BackendError extends Error {
  override name = 'BackendError';
}

const require = createRequire(import.meta.url);

// Dawn aborts the process if the object returned by `create()` is garbage-collected while devices live,
// so it is kept here for the life of the process.
let dawnInstance: unknown;
let active: BackendInfo | undefined;

export function parseBackendRequest(value: string | undefined, source: string): BackendRequest {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendError(`${source}: unknown backend '${value}', expected one of auto, ${BACKEND_NAMES.join(', ')}`);
}

/** The backend the current process computes on (initialises it with defaults on first use). */
export async function ensureBackend(request?: BackendRequest): Promise<BackendInfo> {
  if (active && (request === undefined || request === 'auto' || request === active.name)) return active;
  return initBackend(request);
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Selects and initialises a backend. An explicit request that cannot be honoured is an error;
 * `auto` (the default, unless SAE_STUDIO_BACKEND says otherwise) tries webgpu → wasm → cpu.
 */
export async function initBackend(request?: BackendRequest): Promise<BackendInfo> {
  const wanted =
    request && request !== 'auto' ? request : parseBackendRequest(process.env.SAE_STUDIO_BACKEND, 'SAE_STUDIO_BACKEND');
  // Silences tfjs's console advice to install tfjs-node (which targets CUDA 11 and cannot be used here).
  tf.env().set('PROD', true);
  const order: BackendName[] = wanted === 'auto' ? [...BACKEND_NAMES] : [wanted];
  const reasons: string[] = [];
  for (const name of order) {
    try {
      let device = await startBackend(name, wanted !== 'auto');
      registerCustomGradients();
      if (name === 'wasm' || name === 'cpu') {
        // The addon's sgemm (our own, or OpenBLAS / Accelerate where it was linked) in place of tfjs's matmul
        // kernels (native/); without the addon tfjs's kernels stay.
        const native = registerNativeMatMul(name);
        if (native.registered) device += `, native kernels, BLAS: ${native.description}`;
        else reasons.push(`native matmul: ${native.reason}`);
        if (name === 'wasm') adviseWasmHugePages();
      }
      // Our own kernels, every one registered here (none on import or first use); the ops fall back to plain tfjs
      // where a backend lacks one.
      registerCustomKernels(name);
      if (name === 'webgpu') installWebGpuGuard(); // a command the GPU rejects fails the next read instead of reading back zeros
      active = { name, device, fallbackReasons: reasons };
      return active;
    } catch (err) {
      const reason = `${name}: ${(err as Error).message}`;
      if (wanted !== 'auto') throw new BackendError(`backend '${name}' is not available (${reason})`);
      reasons.push(reason);
    }
  }
  throw new BackendError(`no compute backend could be started: ${reasons.join('; ')}`);
}

/**
 * Asks for transparent huge pages over the wasm heap (its whole 4 GiB reservation, so the parts it grows into
 * later are covered too), where the native addon can and the system grants them on request (Linux THP "madvise").
 * The sparse kernels read rows scattered over megabytes of weights, activations and moments; with 4 KiB pages most
 * of those reads also miss the TLB (the d 256 training step: ~5% faster). SAE_STUDIO_HUGE_PAGES=off leaves it.
 */
function adviseWasmHugePages(): void {
  if (process.env.SAE_STUDIO_HUGE_PAGES === 'off') return;
  const blas = loadNativeBlas().blas as unknown as {
    adviseHugePages?: (buffer: ArrayBuffer, bytes: number) => number;
  } | null;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer;
  if (typeof blas?.adviseHugePages === 'function' && heap instanceof ArrayBuffer)
    blas.adviseHugePages(heap, 4 * 2 ** 30);
}

async function startBackend(name: BackendName, explicit: boolean): Promise<string> {
  switch (name) {
    case 'webgpu':
      return startWebgpu(explicit);
    case 'wasm':
      return startWasm();
    case 'cpu':
      await setBackendOrThrow('cpu');
      return 'cpu (plain JavaScript)';
  }
}

async function setBackendOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new BackendError(`tfjs could not initialise the '${name}' backend`);
  await tf.ready();
}

async function startWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package folder (never fetched).
  const distDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(distDir);
  await setBackendOrThrow('wasm');
  return 'wasm (XNNPACK, single-threaded in Node)';
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function requestAdapter(): Promise<{ gpu: GPU; adapter: GPUAdapter }> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'sae-studio-xdg-'));
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    throw new BackendError(`the 'webgpu' package could not be loaded (${(err as Error).message})`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = (dawnInstance as GPU | undefined) ?? dawn.create([]);
  dawnInstance = gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new BackendError('no WebGPU adapter (on Linux: a Vulkan driver, e.g. Mesa >= 25 lavapipe)');
  return { gpu, adapter };
}

/** Backends this process can start when asked explicitly (webgpu only with an adapter, software or not). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  try {
    await requestAdapter();
    out.push('webgpu');
  } catch {
    // no adapter: webgpu is simply not available
  }
  return [...out, 'wasm', 'cpu'];
}

async function startWebgpu(explicit: boolean): Promise<string> {
  if (!explicit) {
    // Skips Dawn (and its start-up warnings) where Vulkan can only offer a software rasteriser.
    const skip = linuxVulkanSkipReason();
    if (skip) throw new BackendError(skip);
  }
  const { gpu, adapter } = await requestAdapter();
  if (!explicit && isSoftwareAdapter(adapter)) {
    // lavapipe/SwiftShader emulate a GPU on the CPU and are slower than wasm: used only when asked for.
    throw new BackendError(
      `only a software adapter (${adapter.info.description || adapter.info.device}); request --backend webgpu to use it`,
    );
  }
  // tfjs-backend-webgpu registers itself at import time only when navigator.gpu exists.
  const nav = (globalThis as { navigator?: object }).navigator;
  if (!nav || !('gpu' in nav)) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(nav ?? {}), gpu },
      configurable: true,
      writable: true,
    });
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  await setBackendOrThrow('webgpu');
  const info = adapter.info;
  return `webgpu (${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'adapter'})`;
}

/** On Linux, a reason not to probe WebGPU when there is no GPU device node (only a software rasteriser could answer). */
function linuxVulkanSkipReason(): string | null {
  if (process.platform !== 'linux' || process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return null;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')) : [];
  const nvidia = existsSync('/dev') ? readdirSync('/dev').filter((f) => /^nvidia\d+$/.test(f)) : [];
  if (dri.length === 0 && nvidia.length === 0)
    return 'no GPU device (/dev/dri/renderD*, /dev/nvidia*); request --backend webgpu to use a software adapter';
  return null;
}

function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return (
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader/.test(text)
  );
}

/** Keeps a reference so bundlers and linters do not treat the Dawn instance as dead. */
export function dawnIsLoaded(): boolean {
  return dawnInstance !== undefined;
}

/** What the compute backends of this machine are, for a settings page: nothing is initialised for tfjs. */
export interface ComputeDevices {
  /** The backend `auto` starts here. */
  auto: BackendName;
  /** The WebGPU adapter (vendor, device…), or null with the reason there is none that `auto` would use. */
  gpu: { adapter: string; software: boolean } | null;
  gpuReason: string | null;
  /** The native matmul/sparse addon: its file, or why it is not loaded (tfjs's own kernels are then used). */
  native: { loaded: boolean; detail: string };
}

export async function describeComputeDevices(): Promise<ComputeDevices> {
  const blas = loadNativeBlas();
  const screen = blas.blas ? (blas.blas as unknown as { topkScreening?: () => boolean }).topkScreening?.() : undefined;
  const encoder =
    screen === undefined
      ? ''
      : screen
        ? '; TopK encoder: int8 screen, exact fp32 candidates (AVX-512 VNNI)'
        : '; TopK encoder: fp32 sgemm (no AVX-512 VNNI on this CPU)';
  const native = blas.blas
    ? { loaded: true, detail: `BLAS: ${nativeBlasName() ?? 'unknown'}${encoder}; ${blas.path}` }
    : { loaded: false, detail: blas.reason };
  const skip = linuxVulkanSkipReason();
  if (skip) return { auto: 'wasm', gpu: null, gpuReason: skip, native };
  try {
    const { adapter } = await requestAdapter();
    const info = adapter.info;
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'adapter';
    const software = isSoftwareAdapter(adapter);
    return {
      auto: software ? 'wasm' : 'webgpu',
      gpu: { adapter: name, software },
      gpuReason: software ? 'a software adapter: used only when webgpu is requested' : null,
      native,
    };
  } catch (err) {
    return { auto: 'wasm', gpu: null, gpuReason: (err as Error).message, native };
  }
}
