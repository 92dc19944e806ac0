/**
 * Whether a run folder holds a complete checkpoint to resume from. Read-only on purpose: the trainer's own
 * listCheckpoints also deletes leftovers of interrupted writes, which must not happen while a run is training.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runDir, type StudioHome } from '../core/home';
import { checkpointsDir } from '../core/sae/checkpoint';

export function hasCompleteCheckpoint(home: StudioHome, runId: string): boolean {
  const root = checkpointsDir(runDir(home, runId));
  if (!existsSync(root)) return false;
  // A checkpoint folder is renamed into place with state.json written last (core/sae/checkpoint.ts).
  return readdirSync(root).some(
    (d) =>
      /^step-\d+$/.test(d) && existsSync(join(root, d, 'state.json')) && existsSync(join(root, d, 'state.safetensors')),
  );
}
