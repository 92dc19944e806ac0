// Atomic small-file writes: write a temporary file beside the target, fsync it, rename it over the target.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { InputError } from '../errors';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { killPoint } from './test-kill-point';

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InputError(`${path}: is a folder; expected the path of a file to write`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    killPoint('atomic-file:before-rename');
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The temporary files writeFileAtomic and writeSafetensors make: `.<name>.<pid>.<8 hex>.tmp`. */
const TEMP_FILE = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

/**
 * Removes from `dir` the temporary files of atomic writes whose writer is gone (a process killed between its write
 * and its rename); a live writer's are left alone. Returns how many were removed. Callers sweep the folders they
 * write into before writing (an activation cache's chunks, a run folder), so that a kill leaves nothing behind for
 * long: the next run in the same place clears it.
 */
export function sweepDeadTempFiles(dir: string): number {
  let removed = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0; // no folder, nothing to sweep
  }
  for (const entry of entries) {
    const m = TEMP_FILE.exec(entry);
    if (!m || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    rmSync(join(dir, entry), { force: true });
    removed++;
  }
  return removed;
}
