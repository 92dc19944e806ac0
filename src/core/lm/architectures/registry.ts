// The explicit list of supported language-model architectures, looked up by config.json's `model_type`.
import { InputError } from '../../errors';
import type { Architecture } from './architecture';
import { gemma2 } from './gemma2';
import { gpt2 } from './gpt2';
import { gptNeox } from './gpt-neox';
import { llama } from './llama';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';

export const ARCHITECTURES: readonly Architecture[] = [gpt2, llama, qwen2, qwen3, gemma2, gptNeox];

const byModelType = new Map<string, Architecture>();
for (const arch of ARCHITECTURES) {
  for (const t of arch.modelTypes) {
    const other = byModelType.get(t);
    if (other) throw new Error(`model_type '${t}' is registered by both ${other.name} and ${arch.name}`);
    byModelType.set(t, arch);
  }
}

export function supportedModelTypes(): string[] {
  return [...byModelType.keys()];
}

export function architectureFor(modelType: string, file: string): Architecture {
  const arch = byModelType.get(modelType);
  if (!arch) {
    throw new InputError(
      `${file}: model_type '${modelType}' is not supported, expected one of ${supportedModelTypes().join(', ')}`,
    );
  }
  return arch;
}
