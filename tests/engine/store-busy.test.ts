// Long writes of another process do not freeze the studio or fail its saves (real processes on one studio.db):
// while another process holds the write lock, the studio keeps answering (its thread never blocks for more than a
// moment), an interpretation saved meanwhile is written once the lock is free, and a lock held past the retry window
// answers `busy` in one line (HTTP 503) with nothing changed — never an internal error. A large analysis is saved in
// short transactions: the interpretations saved during it all land, none waits a second, and readers see the old
// analysis until the new one is whole.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStudioServer } from '../../src/cli/server/http-server';
import { studioHome } from '../../src/core/home';
import { getFeature, listFeatures, openStore, saveAnalysis } from '../../src/core/store';
import { nodeForkLauncher, sourceEngineEntry } from '../../src/engine/node-fork-launcher';
import { openStudio, type Studio } from '../../src/engine/studio';
import { ServiceError } from '../../src/protocol/service-error';
import type { StudioEventSource } from '../../src/protocol/studio-client';
import type { StudioServiceImpl } from '../../src/protocol/studio-service';
import { syntheticAnalysis } from '../core/store/helpers';
import { ROOT } from '../helpers/fixtures';
import { tempHome } from '../helpers/train-fixtures';

const WORKER = join(ROOT, 'tests', 'engine', 'store-writer-worker.ts');
const open: Studio[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of open.splice(0)) await s.close(1000);
});

/** A studio on a fresh home whose store holds toy-sae with a small analysis. */
function studio(busyRetryMs?: number): Studio {
  const home = studioHome(tempHome());
  const seed = openStore({ dir: home.root });
  saveAnalysis(seed, syntheticAnalysis({ dSae: 8192, nFeatures: 20 }));
  seed.close();
  const s = openStudio({
    home,
    launcher: nodeForkLauncher(sourceEngineEntry()),
    appInfo: { name: 'SAE Studio', version: '0.0.0-test' },
    busyRetryMs,
  });
  open.push(s);
  return s;
}

/** Starts the worker; resolves once it printed `word` (LOCKED, SAVING), with a promise of its whole output. */
async function worker(args: string[], word: string): Promise<{ output: Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const output = new Promise<string>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`)))),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(word)) resolve();
    });
    output.catch(reject);
  });
  return { output };
}

/** The longest the event loop went without running a 10 ms timer while `work` ran. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  try {
    const value = await work();
    return { value, stallMs: Math.max(stallMs, performance.now() - last) };
  } finally {
    clearInterval(timer);
  }
}

describe('the studio beside another writer of its store', () => {
  it('keeps answering while another process holds the write lock, and saves once it is free', async () => {
    const { service } = studio();
    const holder = await worker(['hold', open[0]!.home.root, '2500'], 'LOCKED');
    const started = performance.now();
    const { value, stallMs } = await longestStall(async () => {
      const save = service.setInterpretation({ dictionary: 'toy-sae', index: 3, text: 'written after the lock' });
      // Reads go on meanwhile, each at once.
      const readTimes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await service.listDictionaries({});
        readTimes.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 200));
      }
      return { saved: await save, readTimes, savedAfter: performance.now() - started };
    });
    await holder.output;
    expect(value.saved.interpretation?.text).toBe('written after the lock');
    expect(value.savedAfter).toBeGreaterThan(2000); // it did wait for the other process
    expect(Math.max(...value.readTimes)).toBeLessThan(250);
    expect(stallMs).toBeLessThan(500);
    const check = openStore({ dir: open[0]!.home.root, readonly: true });
    expect(getFeature(check, 'toy-sae', 3).interpretation?.text).toBe('written after the lock');
    check.close();
  }, 60_000);

  it('answers busy in one line, with nothing changed, when the lock outlasts the retries', async () => {
    const s = studio(800);
    await s.service.setInterpretation({ dictionary: 'toy-sae', index: 3, text: 'before' });
    const holder = await worker(['hold', s.home.root, '2500'], 'LOCKED');
    const { value: error, stallMs } = await longestStall(() =>
      s.service.setInterpretation({ dictionary: 'toy-sae', index: 3, text: 'lost?' }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('busy');
    expect((error as ServiceError).message).toMatch(
      /^the store is busy: another process .* kept its write lock for 1 s; nothing was changed, try again$/,
    );
    expect(stallMs).toBeLessThan(500);
    await holder.output;
    expect((await s.service.getFeature({ dictionary: 'toy-sae', index: 3 })).interpretation?.text).toBe('before');

    // Over HTTP a busy call is a 503 with that line, not a 500.
    const events: StudioEventSource = { subscribe: () => () => undefined };
    const impl = {
      appInfo: async () => {
        throw error;
      },
    } as unknown as StudioServiceImpl;
    const server = await startStudioServer({ impl, events, token: 't'.repeat(43) });
    const res = await fetch(`${server.origin}api/appInfo`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${'t'.repeat(43)}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'busy', message: (error as ServiceError).message } });
    await server.close();
  }, 60_000);

  it('saves a large analysis in short transactions: interpretations saved meanwhile all land, none waits 1 s', async () => {
    const s = studio();
    const root = s.home.root;
    const saver = await worker(['save', root, '6000'], 'SAVING');
    const latencies: number[] = [];
    const seen = new Set<number>();
    let saved = 0;
    let done = false;
    void saver.output.then(
      () => (done = true),
      () => (done = true),
    );
    const { stallMs } = await longestStall(async () => {
      for (let i = 0; !done || i < 3; i++) {
        const t = performance.now();
        await s.service.setInterpretation({ dictionary: 'toy-sae', index: i % 20, text: `note ${i}` });
        latencies.push(performance.now() - t);
        saved = i + 1;
        // Readers see the old analysis (20 features) or the new one whole (6000), nothing in between.
        seen.add((await s.service.listFeatures({ dictionary: 'toy-sae', limit: 1, offset: 0, sort: 'index' })).total);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const out = await saver.output;
    const saveMs = Number(/DONE (\d+)/.exec(out)![1]);
    expect(saveMs).toBeGreaterThan(1000); // a save long enough to matter
    expect(saved).toBeGreaterThan(5);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(stallMs).toBeLessThan(500);
    expect([...seen].every((n) => n === 20 || n === 6000)).toBe(true);
    const check = openStore({ dir: root, readonly: true });
    expect(listFeatures(check, 'toy-sae', { limit: 1 }).total).toBe(6000);
    expect(check.db.prepare('SELECT count(*) FROM analyses').pluck().get()).toBe(1); // the replaced one is gone
    for (let i = Math.max(0, saved - 20); i < saved; i++)
      expect(getFeature(check, 'toy-sae', i % 20).interpretation?.text).toMatch(/^note \d+$/);
    expect(getFeature(check, 'toy-sae', (saved - 1) % 20).interpretation?.text).toBe(`note ${saved - 1}`);
    check.close();
  }, 120_000);
});
