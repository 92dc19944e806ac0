// @vitest-environment jsdom
// A call that finds the store busy is sent again with growing pauses, and the header shows "busy, retrying" while it
// waits — never an internal error. First the retry logic on a scripted transport (pauses, give-up, other errors not
// retried); then for real: a studio whose store another process keeps write-locked answers 503 busy over HTTP
// (`sae-studio serve`'s server), and the page's own HTTP transport, wrapped, waits it out — the indicator shows until
// the save lands.
import { cleanup, screen, waitFor } from '@testing-library/react';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStudioServer } from '../../src/cli/server/http-server';
import { studioHome } from '../../src/core/home';
import { openStore, saveAnalysis } from '../../src/core/store';
import { nodeForkLauncher, sourceEngineEntry } from '../../src/engine/node-fork-launcher';
import { openStudio, type Studio } from '../../src/engine/studio';
import type { CallResult } from '../../src/protocol/service-error';
import type { StudioTransport } from '../../src/protocol/studio-client';
import { withBusyRetry } from '../../src/renderer/src/client/busy-retry';
import { httpTransport } from '../../src/renderer/src/client/http-transport';
import { clientWithBusyRetry } from '../../src/renderer/src/client/studio';
import { BusyIndicator } from '../../src/renderer/src/components/BusyIndicator';
import { syntheticAnalysis } from '../core/store/helpers';
import { ROOT } from '../helpers/fixtures';
import { tempHome } from '../helpers/train-fixtures';
import { renderWithStudio } from './dom';

const BUSY: CallResult = { ok: false, error: { code: 'busy', message: 'the store is busy: try again' } };
const OK: CallResult = { ok: true, result: { name: 'SAE Studio', version: '0' } };

/** A transport that answers each call with the next of `answers` (the last one repeated), counting the calls. */
function scripted(answers: CallResult[]): StudioTransport & { calls: number } {
  const t = {
    calls: 0,
    call: async () => answers[Math.min(t.calls++, answers.length - 1)]!,
    subscribe: () => () => undefined,
  };
  return t;
}

const children: ChildProcess[] = [];
const studios: Studio[] = [];
afterEach(async () => {
  cleanup();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of studios.splice(0)) await s.close(1000);
});

describe('busy retry (the logic)', () => {
  it('sends a busy call again after 250, 500, 1000 ms… and returns the first other answer', async () => {
    const slept: number[] = [];
    const seen: number[] = [];
    const t = scripted([BUSY, BUSY, BUSY, OK]);
    const r = withBusyRetry(t, { sleep: async (ms) => void slept.push(ms) });
    r.busy.subscribe((n) => seen.push(n));
    expect(await r.call('appInfo', {})).toEqual(OK);
    expect(t.calls).toBe(4);
    expect(slept).toEqual([250, 500, 1000]);
    expect(seen).toEqual([1, 0]); // one call waited, then none
    expect(r.busy.waiting).toBe(0);
  });

  it('gives the busy error back once the pauses are spent, and never retries another error', async () => {
    const slept: number[] = [];
    const always = scripted([BUSY]);
    const r = withBusyRetry(always, { sleep: async (ms) => void slept.push(ms) });
    expect(await r.call('appInfo', {})).toEqual(BUSY);
    expect(always.calls).toBe(11);
    expect(slept.reduce((a, b) => a + b, 0)).toBe(27_750); // ~28 s of waiting in all
    const bad: CallResult = { ok: false, error: { code: 'invalid_input', message: 'x: expected y' } };
    const once = scripted([bad, OK]);
    expect(await withBusyRetry(once).call('appInfo', {})).toEqual(bad);
    expect(once.calls).toBe(1);
  });
});

/** Starts the lock-holding worker of the store-busy tests; resolves once it holds the write lock. */
async function holdLock(dir: string, ms: number): Promise<{ done: Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tests', 'engine', 'store-writer-worker.ts'), 'hold', dir, String(ms)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('LOCKED') && resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited ${code}`)));
  });
  return { done };
}

describe('busy, retrying (a real busy store over HTTP)', () => {
  it('shows "busy, retrying" while the store is locked by another process, then saves', async () => {
    const home = studioHome(tempHome());
    const seed = openStore({ dir: home.root });
    saveAnalysis(seed, syntheticAnalysis({ dSae: 64, nFeatures: 4 }));
    seed.close();
    // The studio waits at most 300 ms for the lock, then answers busy (503).
    const studio = openStudio({
      home,
      launcher: nodeForkLauncher(sourceEngineEntry()),
      appInfo: { name: 'SAE Studio', version: '0.0.0-test' },
      busyRetryMs: 300,
    });
    studios.push(studio);
    const token = 'k'.repeat(43);
    const server = await startStudioServer({ impl: studio.service, events: studio.supervisor, token });
    try {
      const answers: number[] = [];
      const http = httpTransport(server.origin, token);
      const counted: StudioTransport = {
        subscribe: http.subscribe,
        call: async (m, r) => {
          const res = await http.call(m, r);
          answers.push(res.ok ? 200 : res.error.code === 'busy' ? 503 : 500);
          return res;
        },
      };
      const client = clientWithBusyRetry(counted, { delaysMs: [250, 500, 1000, 2000, 4000] });
      renderWithStudio(<BusyIndicator />, client);
      expect(screen.queryByTestId('busy-indicator')).toBeNull();

      const holder = await holdLock(home.root, 2500);
      const save = client.setInterpretation({ dictionary: 'toy-sae', index: 2, text: 'saved after the lock' });
      await waitFor(() => expect(answers).toContain(503), { timeout: 10_000 });
      await waitFor(() => expect(screen.getByTestId('busy-indicator').textContent).toBe('busy, retrying'), {
        timeout: 5000,
      });
      const saved = await save;
      await holder.done;
      expect(saved.interpretation?.text).toBe('saved after the lock');
      expect(answers[0]).toBe(503); // the server did answer busy
      expect(answers.at(-1)).toBe(200);
      expect(answers).not.toContain(500);
      await waitFor(() => expect(screen.queryByTestId('busy-indicator')).toBeNull());
    } finally {
      await server.close();
    }
  }, 60_000);
});
