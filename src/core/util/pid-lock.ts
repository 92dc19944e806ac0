// Locks between processes on one studio home, as files that name their owner: `<home>/locks/<name>.lock` holds the
// owner's pid, its start time (Linux: /proc/<pid>/stat, so a pid reused by another program does not count as the
// owner) and a random nonce. A lock is taken by creating the file exclusively and whole (a hard link of a finished
// file); a lock whose owner is gone is taken over under a short-lived takeover file, so that of two processes finding
// the same dead owner only one takes it.
// Locks are advisory: they keep two studios (or a studio and `sae-studio train`) from running one run twice and
// from marking each other's live runs as failed.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file';

export interface LockOwner {
  pid: number;
  /** The process's start time where the platform tells it (Linux), else null. */
  startTime: string | null;
  host: string;
  nonce: string;
  /** What holds it, for messages: `sae-studio serve`, `sae-studio train`, … */
  what: string;
  since: string;
  /** Processes working for the owner (its engines): the lock lives while the owner or any of them does. */
  helpers: { pid: number; startTime: string | null }[];
}

export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Records a process working for the owner (an engine): the lock stays taken while it lives, too. */
  addHelper(pid: number): void;
  /** Removes the lock if it is still this one's (idempotent). */
  release(): void;
}

export type LockAttempt = { ok: true; lock: HeldLock } | { ok: false; owner: LockOwner };

export function locksDir(homeRoot: string): string {
  return join(homeRoot, 'locks');
}

export function lockPath(homeRoot: string, name: string): string {
  return join(locksDir(homeRoot), `${name}.lock`);
}

/** The lock of a run: `<home>/locks/run-<id>.lock` (outside the run folder, which a run gets only once it starts). */
export function runLockPath(homeRoot: string, runId: string): string {
  return lockPath(homeRoot, `run-${runId}`);
}

/** Takes the lock at `path`, taking it over from an owner that is gone; else answers who holds it. */
export function tryLock(path: string, what: string): LockAttempt {
  mkdirSync(join(path, '..'), { recursive: true });
  const owner: LockOwner = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    host: hostname(),
    nonce: randomBytes(12).toString('hex'),
    what,
    since: new Date().toISOString(),
    helpers: [],
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(path, JSON.stringify(owner))) return { ok: true, lock: held(path, owner) };
    const current = readOwner(path);
    if (current === undefined) continue; // removed between our create and our read: try again
    if (current !== null && ownerAlive(current)) return { ok: false, owner: current };
    // The owner is gone (or the file is unreadable, a create cut short): take it over, one process at a time.
    const takeover = `${path}.takeover`;
    if (!createExclusive(takeover, JSON.stringify(owner))) {
      const other = readOwner(takeover);
      if (other && !ownerAlive(other)) rmSync(takeover, { force: true });
      else sleep(5);
      continue;
    }
    try {
      const again = readOwner(path);
      if (again === undefined || sameOwner(again, current)) rmSync(path, { force: true });
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  const last = readOwner(path);
  if (last) return { ok: false, owner: last };
  throw new Error(`${path}: could not take the lock`);
}

/** Who holds the lock at `path` now (a live owner), or null. */
export function lockOwner(path: string): LockOwner | null {
  const owner = readOwner(path);
  return owner && ownerAlive(owner) ? owner : null;
}

/** Whether the lock's owner is a live process (another host's owner is assumed alive: it cannot be checked). */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  return [owner, ...owner.helpers].some((p) => processAlive(p.pid, p.startTime));
}

/** Whether `pid` is a live process that started at `startTime` (null: any start time). */
export function processAlive(pid: number, startTime: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStartTime(pid);
  return startTime === null || start === null || start === startTime;
}

export function describeOwner(owner: LockOwner): string {
  return `${owner.what} (pid ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`}, since ${owner.since})`;
}

function held(path: string, owner: LockOwner): HeldLock {
  let released = false;
  return {
    path,
    owner,
    addHelper(pid) {
      if (released) return;
      owner.helpers.push({ pid, startTime: processStartTime(pid) });
      // Replaced whole by a rename, so a reader never sees a half-written owner; the nonce stays the same.
      writeFileAtomic(path, JSON.stringify(owner));
    },
    release() {
      if (released) return;
      released = true;
      const current = readOwner(path);
      if (current && current.nonce === owner.nonce) rmSync(path, { force: true });
    },
  };
}

/**
 * Creates `path` with `content` unless it exists, whole or not at all: the content goes to a file of its own first,
 * which is then hard-linked to `path` (atomic, and failing when `path` exists), so no reader ever sees it half-written.
 */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The owner written in the file; null when it is not a lock file's content; undefined when there is no file. */
function readOwner(path: string): LockOwner | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.nonce === 'string' && typeof o.host === 'string')
      return {
        pid: o.pid,
        startTime: typeof o.startTime === 'string' ? o.startTime : null,
        host: o.host,
        nonce: o.nonce,
        what: typeof o.what === 'string' ? o.what : 'a process',
        since: typeof o.since === 'string' ? o.since : '?',
        helpers: Array.isArray(o.helpers)
          ? o.helpers
              .filter((h): h is { pid: number; startTime: string | null } => typeof h?.pid === 'number')
              .map((h) => ({ pid: h.pid, startTime: typeof h.startTime === 'string' ? h.startTime : null }))
          : [],
      };
  } catch {
    // not JSON: a create cut short, or not ours
  }
  return null;
}

function sameOwner(a: LockOwner | null, b: LockOwner | null): boolean {
  return a === null || b === null ? a === b : a.nonce === b.nonce;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
