// What each supported Hugging Face architecture provides: config.json → ModelConfig, and its weights in the
// canonical layout of params.ts.
import type { HfConfig } from '../hf-config';
import type { ArchitectureName, ModelConfig } from '../model-config';
import type { HostTensor, ModelParams, NormParams } from '../params';
import type { WeightSource } from '../weight-source';

export interface Architecture {
  name: ArchitectureName;
  /** Values of config.json's `model_type` this architecture reads. */
  modelTypes: readonly string[];
  parseConfig(cfg: HfConfig): ModelConfig;
  loadParams(src: WeightSource, cfg: ModelConfig): ModelParams<HostTensor>;
}

export function normParams(src: WeightSource, prefix: string, dim: number, withBias: boolean): NormParams<HostTensor> {
  return { w: src.get(`${prefix}.weight`, [dim]), b: withBias ? src.get(`${prefix}.bias`, [dim]) : null };
}

export function optional(src: WeightSource, name: string, shape: number[]): HostTensor | null {
  return src.has(name) ? src.get(name, shape) : null;
}
