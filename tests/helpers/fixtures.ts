// Paths of the test fixtures copied from ../shared (the tests never read ../shared directly).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHITECTURE_NAMES, type ArchitectureName } from '../../src/core/lm/model-config';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, '..', 'fixtures');
export const ROOT = join(here, '..', '..');
export const ALL_ARCHITECTURES: readonly ArchitectureName[] = ARCHITECTURE_NAMES;
export const archFixture = (arch: ArchitectureName) => join(FIXTURES, 'hf-arch', arch);
export const PDLM_DIR = join(ROOT, 'resources', 'models', 'pdlm-4l-256');
export const PDLM_REFERENCE = join(FIXTURES, 'pdlm-4l-256-reference');
