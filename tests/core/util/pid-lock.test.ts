// Locks between real processes: a live owner (or an engine working for it) keeps its lock; a dead owner's lock is
// taken over, by exactly one of several processes racing for it; a pid reused by another program does not count as
// the owner; a lock file cut short is taken over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockOwner, tryLock, type LockOwner } from '../../../src/core/util/pid-lock';
import { ROOT } from '../../helpers/fixtures';

const MODULE = join(ROOT, 'src', 'core', 'util', 'pid-lock.ts');
const children: ChildProcess[] = [];

/** A node process that tries the lock, prints `locked` or `refused <pid>`, then holds it until killed (or exits). */
function locker(path: string, hold: boolean): { child: ChildProcess; said: Promise<string> } {
  const script = `
    const { tryLock } = await import(${JSON.stringify(MODULE)});
    const a = tryLock(${JSON.stringify(path)}, 'test locker');
    process.stdout.write(a.ok ? 'locked\\n' : 'refused ' + a.owner.pid + '\\n');
    if (${hold} && a.ok) setInterval(() => {}, 1000); else process.exit(0);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const said = new Promise<string>((resolve) => {
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => resolve(out.trim()));
  });
  return { child, said };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

afterEach(async () => {
  await Promise.all(children.splice(0).map(killed));
});

describe('pid locks between processes', () => {
  it("refuses a live owner's lock, naming it, and takes it over once that process is gone", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sae-lock-')), 'locks', 'x.lock');
    const owner = locker(path, true);
    expect(await owner.said).toBe('locked');
    const refused = tryLock(path, 'me');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? null : refused.owner).toMatchObject({ pid: owner.child.pid, what: 'test locker' });
    expect(lockOwner(path)?.pid).toBe(owner.child.pid);
    await killed(owner.child);
    expect(lockOwner(path)).toBeNull();
    const taken = tryLock(path, 'me');
    expect(taken.ok).toBe(true);
    const other = locker(path, false);
    expect(await other.said).toBe(`refused ${process.pid}`);
    if (taken.ok) taken.lock.release();
    expect(tryLock(path, 'again').ok).toBe(true);
  }, 60_000);

  it('keeps the lock while a helper (an engine) of a dead owner lives, and frees it when the helper ends', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sae-lock-')), 'h.lock');
    const owner = locker(path, true);
    expect(await owner.said).toBe('locked');
    const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(helper);
    const written = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    writeFileSync(path, JSON.stringify({ ...written, helpers: [{ pid: helper.pid, startTime: null }] }));
    await killed(owner.child);
    expect(tryLock(path, 'me').ok).toBe(false);
    await killed(helper);
    expect(tryLock(path, 'me').ok).toBe(true);
  }, 60_000);

  it("lets exactly one of 8 processes take over a dead owner's lock, every round", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-lock-'));
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    const winners: number[] = [];
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `race-${round}.lock`);
      writeFileSync(
        path,
        JSON.stringify({
          pid: dead.pid,
          startTime: null,
          host: (await import('node:os')).hostname(),
          nonce: 'old',
          what: 'gone',
          since: 'then',
          helpers: [],
        }),
      );
      const racers = Array.from({ length: 8 }, () => locker(path, true));
      const said = await Promise.all(racers.map((r) => r.said));
      winners.push(said.filter((s) => s === 'locked').length);
      const winner = racers[said.indexOf('locked')]!;
      expect(
        said.filter((s) => s !== 'locked'),
        JSON.stringify(said),
      ).toEqual(Array(7).fill(`refused ${winner.child.pid}`));
      await Promise.all(racers.map((r) => killed(r.child)));
    }
    expect(winners).toEqual([1, 1, 1, 1, 1]);
  }, 120_000);

  it('does not take a reused pid for the owner, and takes over a lock file cut short', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-lock-'));
    const reused = join(dir, 'reused.lock');
    const held = tryLock(reused, 'me');
    expect(held.ok).toBe(true);
    const mine = JSON.parse(readFileSync(reused, 'utf8')) as LockOwner;
    expect(mine.startTime).toMatch(/^\d+$/); // Linux: the process's start time
    expect(tryLock(reused, 'me again').ok).toBe(false); // this process is alive
    writeFileSync(reused, JSON.stringify({ ...mine, nonce: 'x', startTime: '1' })); // same pid, another start
    expect(tryLock(reused, 'me again').ok).toBe(true);
    const cut = join(dir, 'cut.lock');
    writeFileSync(cut, '{"pid": 12');
    expect(tryLock(cut, 'me').ok).toBe(true);
  });
});
