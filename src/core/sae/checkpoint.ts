// Training checkpoints: `runs/<id>/checkpoints/step-NNNNNNNN/` holding `state.safetensors` (parameters,
// optimiser moments, dead-latent counters) and `state.json` (step, tokens, stream position, configs).
// A checkpoint is written into a temporary folder and renamed into place; `state.json` is written last, so a
// folder without it (or a temporary one) is never taken for a complete checkpoint.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import { openSafetensors, writeSafetensors } from '../tensor/safetensors';
import { writeFileAtomic } from '../util/atomic-file';
import type { HostParams } from './host-tensor';
import { killPoint } from '../util/test-kill-point';

export interface CheckpointInfo {
  dir: string;
  step: number;
}

const STEP_DIR = /^step-(\d{8,})$/;

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

/** Writes a checkpoint atomically and keeps only the newest `keep` complete ones. */
export function writeCheckpoint(
  runDir: string,
  step: number,
  tensors: HostParams,
  state: object,
  keep = 2,
): CheckpointInfo {
  const root = checkpointsDir(runDir);
  mkdirSync(root, { recursive: true });
  const name = `step-${String(step).padStart(8, '0')}`;
  const final = join(root, name);
  const tmp = join(root, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: 'F32', shape: t.shape, data: t.data };
    writeSafetensors(join(tmp, 'state.safetensors'), out);
    writeFileAtomic(join(tmp, 'state.json'), `${JSON.stringify(state, null, 1)}\n`);
    killPoint('checkpoint:before-rename');
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOSPC' ? 'no space left on device' : e.message;
    const previous = listCheckpoints(runDir)
      .filter((c) => c.step < step)
      .at(-1);
    const kept = previous
      ? `the checkpoint at step ${previous.step} is intact`
      : 'there is no earlier checkpoint, so a resume starts the run again';
    throw new InputError(`${final}: checkpoint at step ${step} could not be written (${why}); ${kept}`);
  }
  for (const old of listCheckpoints(runDir).slice(0, -keep)) rmSync(old.dir, { recursive: true, force: true });
  return { dir: final, step };
}

/** Complete checkpoints, oldest first; leftovers of interrupted writes are removed. */
export function listCheckpoints(runDir: string): CheckpointInfo[] {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  const out: CheckpointInfo[] = [];
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (entry.endsWith('.tmp')) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    const m = STEP_DIR.exec(entry);
    if (m && existsSync(join(path, 'state.json')) && existsSync(join(path, 'state.safetensors')))
      out.push({ dir: path, step: Number(m[1]) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The newest checkpoint that reads back whole, and the newer ones that did not (a file cut short by a crash or a
 * full disk after its folder was renamed into place), each with the reason; null when none is complete.
 */
export function readLatestCheckpoint<S>(
  runDir: string,
): { info: CheckpointInfo; checkpoint: { tensors: HostParams; state: S }; skipped: string[] } | null {
  const skipped: string[] = [];
  for (const info of listCheckpoints(runDir).reverse()) {
    try {
      return { info, checkpoint: readCheckpoint<S>(info.dir), skipped };
    } catch (err) {
      skipped.push(`${info.dir}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return null;
}

export function readCheckpoint<S>(dir: string): { tensors: HostParams; state: S } {
  let state: S;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as S;
  } catch (err) {
    throw new InputError(`${join(dir, 'state.json')}: unreadable checkpoint state (${(err as Error).message})`);
  }
  const file = openSafetensors(join(dir, 'state.safetensors'));
  try {
    const tensors: HostParams = {};
    for (const name of file.names())
      tensors[name] = { data: Float32Array.from(file.readFloat32(name)), shape: [...file.info(name).shape] };
    return { tensors, state };
  } finally {
    file.close();
  }
}
