/**
 * Where `sae-studio serve` finds the engine entry and the built UI: beside the CLI bundle (out/cli/sae-studio.mjs,
 * which runs the engine as `sae-studio engine`), or, when run from the TypeScript sources (tests, tsx), the engine's
 * own entry through tsx and the repository's out/renderer.
 */
import { fileURLToPath } from 'node:url';
import { sourceEngineEntry, type NodeEngineEntry } from '../../engine/node-fork-launcher';

const fromSources = import.meta.url.endsWith('.ts');

export function engineEntry(): NodeEngineEntry {
  return fromSources ? sourceEngineEntry() : { modulePath: fileURLToPath(import.meta.url), args: ['engine'] };
}

export function rendererDir(): string {
  return fileURLToPath(new URL(fromSources ? '../../../out/renderer/' : '../renderer/', import.meta.url));
}
