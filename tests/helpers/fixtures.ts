// Paths of the test fixtures: tests/fixtures/ (Hugging Face architecture folders, the pdlm reference tensors, the
// reference SAE result) and the bundled model under resources/; the tests read nothing outside the repository.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHITECTURE_NAMES, type ArchitectureName } from '../../src/core/lm/model-config';
import { tokenBatch, type TokenBatch } from '../../src/core/lm/token-batch';
import { openSafetensors } from '../../src/core/tensor/safetensors';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, '..', 'fixtures');
export const ROOT = join(here, '..', '..');
export const ALL_ARCHITECTURES: readonly ArchitectureName[] = ARCHITECTURE_NAMES;
export const archFixture = (arch: ArchitectureName) => join(FIXTURES, 'hf-arch', arch);
export const PDLM_DIR = join(ROOT, 'resources', 'models', 'pdlm-4l-256');
export const PDLM_REFERENCE = join(FIXTURES, 'pdlm-4l-256-reference');
/** The PyTorch reference SAE run on pdlm-4l-256 (recipe and validation metrics) that bench/quality.ts matches. */
export const REFERENCE_SAE_QUALITY = join(FIXTURES, 'reference', 'sae-quality.json');

/** The first `count` validation windows of pdlm-4l-256's reference (256 tokens each), cut to their first `length`. */
export function pdlmValWindows(count: number, length = 256): TokenBatch {
  const val = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors')).readInt32('val_windows');
  return tokenBatch(Array.from({ length: count }, (_, i) => Array.from(val.subarray(i * 256, i * 256 + length))));
}
