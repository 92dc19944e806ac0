// Writes a dictionary directory atomically: never a half-written directory under the target's name.
//
// How: every file goes into a hidden temporary directory beside the target (same file system, so renames are
// atomic); each file is fsync'd as it is written and the writer writes the config file last, so even a
// left-over temporary directory only looks complete when it is. Then the temporary directory is fsync'd and
// renamed to the target name — that rename is the commit point. An existing target is first renamed aside
// (`.<name>.<pid>.<rand>.old`) and removed only after the commit; if the commit fails it is renamed back.
// A crash can leave hidden `.tmp` / `.old` directories beside the target, but the target name holds either the
// complete old dictionary, the complete new one, or (between the two renames) nothing. The next write in the same
// folder clears what dead writers left: a `.tmp` is removed, an `.old` whose target is missing is put back (it is the
// complete old dictionary), any other `.old` removed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError } from '../../errors';
import { killPoint } from '../../util/test-kill-point';

export interface AtomicDirWriter {
  /** Writes one file inside the temporary directory (exclusive create) and fsyncs it. */
  writeFile(name: string, data: string | Uint8Array): void;
  /** The temporary directory, for writers that create files themselves (they must fsync them). */
  readonly dir: string;
}

export interface AtomicDirOptions {
  /**
   * Decides whether an existing directory at the target may be replaced (e.g. "it holds a dictionary of this
   * format, or nothing"), so that a wrong path never deletes unrelated files.
   */
  canReplace(existingDir: string): boolean;
  /** What the directory is, for messages ("lm-saes dictionary"). */
  what: string;
}

/** A `canReplace` test: the directory is empty or holds one of these files (so it is a dictionary of the format). */
export function holdsAnyOf(files: readonly string[]): (dir: string) => boolean {
  return (dir) => fs.readdirSync(dir).length === 0 || files.some((f) => fs.existsSync(path.join(dir, f)));
}

function siblingName(target: string, suffix: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`,
  );
}

/** fsync a directory so a rename inside it is durable; some platforms (Windows) cannot open directories. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Everything that can be checked before a byte is written: the parent exists and the target is replaceable. */
function checkTarget(target: string, opts: AtomicDirOptions): boolean {
  const parent = path.dirname(target);
  let parentStat: fs.Stats;
  try {
    parentStat = fs.statSync(parent);
  } catch {
    throw new InputError(`${target}: cannot write the ${opts.what}: the parent directory ${parent} does not exist`);
  }
  if (!parentStat.isDirectory())
    throw new InputError(`${target}: cannot write the ${opts.what}: ${parent} is not a directory`);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return false;
  }
  if (!stat.isDirectory())
    throw new InputError(`${target}: exists and is not a directory; refusing to replace it with a ${opts.what}`);
  if (!opts.canReplace(target))
    throw new InputError(`${target}: exists and does not hold a ${opts.what}; refusing to replace it`);
  return true;
}

const LEFTOVER = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.(tmp|old)$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

/** Clears what writers that died left in `parent` (see the file header); a live writer's folders are left alone. */
export function sweepLeftovers(parent: string): void {
  for (const entry of fs.readdirSync(parent)) {
    const m = LEFTOVER.exec(entry);
    if (!m || processAlive(Number(m[2]))) continue;
    const leftover = path.join(parent, entry);
    const target = path.join(parent, m[1] ?? '');
    if (m[3] === 'old' && !fs.existsSync(target)) fs.renameSync(leftover, target);
    else fs.rmSync(leftover, { recursive: true, force: true });
  }
}

/** Creates (or replaces) the directory `target` with the files `write` puts in it, atomically (see the file header). */
export function writeDirAtomically(target: string, opts: AtomicDirOptions, write: (w: AtomicDirWriter) => void): void {
  const parent = path.dirname(target);
  if (fs.statSync(parent, { throwIfNoEntry: false })?.isDirectory()) sweepLeftovers(parent); // before the target is judged
  const exists = checkTarget(target, opts);
  const tmp = siblingName(target, 'tmp');
  try {
    fs.mkdirSync(tmp);
  } catch (e) {
    throw new InputError(`${target}: cannot create a temporary directory beside it: ${(e as Error).message}`);
  }
  try {
    write({ dir: tmp, writeFile: (name, data) => writeSynced(path.join(tmp, name), data) });
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  killPoint('dictionary-save:before-commit');
  let aside: string | null = null;
  try {
    if (exists) {
      aside = siblingName(target, 'old');
      fs.renameSync(target, aside);
    }
    fs.renameSync(tmp, target); // the commit point
  } catch (e) {
    if (aside !== null && !fs.existsSync(target)) fs.renameSync(aside, target);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new InputError(`${target}: cannot move the new ${opts.what} into place: ${(e as Error).message}`);
  }
  fsyncDir(path.dirname(target));
  if (aside !== null) fs.rmSync(aside, { recursive: true, force: true });
}
