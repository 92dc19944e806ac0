// Registers SAE Studio's own kernels (named in kernel-names.ts) for one backend; the backend bootstrap
// (tensor/backend.ts) calls it once the backend has started, and nothing registers a kernel on import or first use.
// On the host backends (cpu, wasm) one native implementation serves both — the addon reads the tensors' memory
// through tensor-memory.ts whichever of the two holds it — so each kernel's host.ts stands for its cpu.ts and wasm.ts.
import type { BackendName } from '../backend';
import type { HostBackendName } from '../native/tensor-memory';
import { registerHostAdamUpdate } from './adam-update/host';
import { registerHostCausalAttention } from './causal-attention/host';
import { registerWebGpuCausalAttention } from './causal-attention/webgpu';
import { registerHostFusedStep } from './fused-step/host';
import { registerWebGpuFusedStep } from './fused-step/webgpu';
import { registerHostEmbed } from './embed/host';
import { registerHostGeluNew } from './gelu-new/host';
import { registerHostLinearPost } from './linear-post/host';
import { registerWebGpuGeluNew } from './gelu-new/webgpu';
import { registerRowGather } from './row-gather/host';
import { registerHostRowNorm } from './row-norm/host';
import { registerWebGpuRowNorm } from './row-norm/webgpu';
import { registerHostRowSqErr } from './row-sq-err/host';
import { registerRowTopK } from './row-topk/host';
import { registerHostSparseTopK } from './sparse-topk/host';
import { registerHostTokenLosses } from './token-losses/host';
import { registerWebGpuSparseTopK } from './sparse-topk/webgpu';
import { registerHostUnitRows } from './unit-rows/host';
import { SAE_CAUSAL_ATTENTION, SAE_GELU_NEW, SAE_ROW_NORM } from './kernel-names';

/** The LM's fused forward kernels on webgpu (bench/gpu.ts unregisters them to time tfjs's formulations against them). */
export const WEBGPU_LM_KERNELS = [SAE_CAUSAL_ATTENTION, SAE_ROW_NORM, SAE_GELU_NEW] as const;

/** Registers the LM's fused forward kernels for webgpu (idempotent). */
export function registerWebGpuLmKernels(): void {
  registerWebGpuRowNorm();
  registerWebGpuGeluNew();
  registerWebGpuCausalAttention();
}

/**
 * Registers every custom kernel `backendName` has an implementation of (idempotent: a backend started again keeps
 * its kernels). A host kernel whose native entry point the addon lacks (no addon, an older build, a CPU without
 * AVX-512 for the GELU) is left unregistered, and its op falls back to plain tfjs; the names of those come back.
 */
export function registerCustomKernels(backendName: BackendName): string[] {
  if (backendName === 'webgpu') {
    registerWebGpuLmKernels();
    registerWebGpuSparseTopK();
    registerWebGpuFusedStep();
    return [];
  }
  // The row gather replaces tfjs's GatherV2 (kept behind it for the cases it does not take).
  registerRowGather(backendName);
  const host: Array<[string, (b: HostBackendName) => boolean]> = [
    ['adam update', registerHostAdamUpdate],
    ['unit rows', registerHostUnitRows],
    ['row squared error', registerHostRowSqErr],
    ['row norm', registerHostRowNorm],
    ['causal attention', registerHostCausalAttention],
    ['gelu_new', registerHostGeluNew],
    ['linear with a post-op', registerHostLinearPost],
    ['embedding', registerHostEmbed],
    ['sparse TopK', registerHostSparseTopK],
    ['fused TopK step', registerHostFusedStep],
  ];
  // The token losses match tfjs's float32 formulation on wasm; the cpu backend's runs in float64 and stays its own.
  if (backendName === 'wasm') host.push(['token losses', registerHostTokenLosses]);
  // The native TopK replaces wasm's (kept behind it); the cpu backend's TopK has another order of its own.
  if (backendName === 'wasm') host.push(['row TopK', () => registerRowTopK() !== null]);
  return host.filter(([, register]) => !register(backendName)).map(([name]) => name);
}
