// Checkpoints and resume of the kind trainer (crosscoder, CLT, Lorsa, MoLT) on pdlm-4l-256: a run stopped after a
// step, resumed, stopped again and resumed to the end saves exactly the parameters of an uninterrupted run; a
// truncated newest checkpoint falls back to the one before it; a finished run is not resumed; `sae-studio train`
// killed with SIGKILL at a seeded random step and resumed with --resume ends bit-identical too.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrainConfigSchema, type TrainConfig } from '../../../src/protocol/run-config';
import { trainKindDictionary } from '../../../src/core/dictionary/train-kind';
import { studioHome, type StudioHome } from '../../../src/core/home';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { runCli } from '../../helpers/cli';
import { ROOT } from '../../helpers/fixtures';
import { smallTextDataset, tempHome, TINY_KIND_SAES } from '../../helpers/train-fixtures';

const dataset = smallTextDataset();

const SAES = TINY_KIND_SAES;

/** A tiny run of 6 steps (Lorsa: 15 windows of 16, 225 tokens a step), a checkpoint every 400 tokens. */
function config(kind: string, overrides: Record<string, unknown> = {}): TrainConfig {
  return TrainConfigSchema.parse({
    name: `resume-${kind}`,
    model: 'pdlm-4l-256',
    dataset,
    dataset_split: 'all',
    context_size: 16,
    batch_size: 240,
    total_training_tokens: 240 * 6,
    norm_estimation_tokens: 1000,
    shuffle_windows: 32,
    lr: 3e-3,
    lr_warm_up_steps: 1,
    lr_cool_down_steps: 2,
    log_frequency: 1,
    checkpoint_every_tokens: 400,
    backend: 'wasm',
    sae: SAES[kind],
    ...overrides,
  });
}

/** Every tensor of a saved dictionary's sae_weights.safetensors. */
function savedWeights(dir: string): Record<string, Float32Array> {
  const f = openSafetensors(join(dir, 'sae_weights.safetensors'));
  try {
    return Object.fromEntries(f.names().map((n) => [n, Float32Array.from(f.readFloat32(n))]));
  } finally {
    f.close();
  }
}

function expectSameWeights(a: string, b: string): void {
  const wa = savedWeights(a);
  const wb = savedWeights(b);
  expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
  for (const [n, t] of Object.entries(wa)) expect(wb[n], n).toEqual(t);
}

function checkpointSteps(home: StudioHome, runId: string): string[] {
  return readdirSync(join(home.runs, runId, 'checkpoints')).sort();
}

/** The uninterrupted run of each kind, kept for the CLI test below. */
const uninterrupted: Record<string, string> = {};

describe('kind trainer: checkpoints and resume', () => {
  for (const kind of Object.keys(SAES)) {
    it(
      `${kind}: stopped after 1 step, then after 3, resumed to the end = uninterrupted`,
      { timeout: 120_000 },
      async () => {
        const cfg = config(kind);
        const homeA = studioHome(tempHome());
        const a = await trainKindDictionary(cfg, { home: homeA, runId: 'a' });
        expect(a.cancelled).toBe(false);
        expect(a.steps).toBe(6);
        uninterrupted[kind] = a.dictionaryDir!;

        const homeB = studioHome(tempHome());
        const first = await trainKindDictionary(cfg, { home: homeB, runId: 'b', maxStepsThisProcess: 1 });
        expect(first).toMatchObject({ cancelled: true, steps: 1, dictionaryDir: null });
        expect(existsSync(join(homeB.dictionaries, cfg.name))).toBe(false);
        expect(existsSync(join(homeB.runs, 'b', 'train-config.json'))).toBe(true);
        expect(checkpointSteps(homeB, 'b')).toEqual(['step-00000001']);

        const started: number[] = [];
        const second = await trainKindDictionary(cfg, {
          home: homeB,
          runId: 'b',
          resume: true,
          maxStepsThisProcess: 2,
          onEvent: (e) => e.type === 'started' && started.push(e.resumedFromStep),
        });
        expect(started).toEqual([1]);
        expect(second).toMatchObject({ cancelled: true, steps: 3 });
        // Step 2 crossed 400 tokens (a regular checkpoint); step 3 is where this process stopped.
        expect(checkpointSteps(homeB, 'b')).toEqual(['step-00000002', 'step-00000003']);

        const logs: string[] = [];
        const truncate = kind === 'clt' || kind === 'lorsa';
        if (truncate) {
          const newest = join(homeB.runs, 'b', 'checkpoints', 'step-00000003', 'state.safetensors');
          truncateSync(newest, Math.floor(statSync(newest).size / 2));
        }
        const last = await trainKindDictionary(cfg, {
          home: homeB,
          runId: 'b',
          resume: true,
          onEvent: (e) => e.type === 'log' && logs.push(e.message),
        });
        expect(last).toMatchObject({ cancelled: false, steps: 6, tokens: a.tokens });
        expect(logs.some((l) => /checkpoint not readable, resuming from an earlier one: .*step-00000003/.test(l))).toBe(
          truncate,
        );
        expect(logs.some((l) => /dataset-wise norms/.test(l))).toBe(false); // the checkpoint's norms, not estimated
        expect(last.config).toEqual(a.config);
        expectSameWeights(a.dictionaryDir!, last.dictionaryDir!);
      },
    );
  }

  it('a crosscoder stopped before its first step resumes from its initialisation and trains that batch once', async () => {
    // The crosscoder's initialisation depends on the first batch (the output biases and the weight scale): the
    // checkpoint at step 0 holds those parameters and the stream's state before that batch.
    const cfg = config('crosscoder');
    const home = studioHome(tempHome());
    const stopped = await trainKindDictionary(cfg, { home, runId: 'z', maxStepsThisProcess: 0 });
    expect(stopped).toMatchObject({ cancelled: true, steps: 0 });
    expect(checkpointSteps(home, 'z')).toEqual(['step-00000000']);
    const logs: string[] = [];
    const resumed = await trainKindDictionary(cfg, {
      home,
      runId: 'z',
      resume: true,
      onEvent: (e) => e.type === 'log' && logs.push(e.message),
    });
    expect(resumed.steps).toBe(6);
    expect(logs.some((l) => /initial weight scale/.test(l))).toBe(false); // no second data-dependent init
    const reference =
      uninterrupted.crosscoder ??
      (await trainKindDictionary(cfg, { home: studioHome(tempHome()), runId: 'a' })).dictionaryDir!;
    expectSameWeights(reference, resumed.dictionaryDir!);
  });

  it('refuses to resume a finished run, leaving its dictionary as it was', { timeout: 60_000 }, async () => {
    const cfg = config('molt', { total_training_tokens: 240 * 2 });
    const home = studioHome(tempHome());
    const done = await trainKindDictionary(cfg, { home, runId: 'f' });
    const file = join(done.dictionaryDir!, 'sae_weights.safetensors');
    const before = statSync(file).mtimeMs;
    await expect(trainKindDictionary(cfg, { home, runId: 'f', resume: true })).rejects.toThrow(
      /the run has finished \(its dictionary: .*resume-molt\); nothing to resume/,
    );
    expect(statSync(file).mtimeMs).toBe(before);
  });

  it('refuses a resume with another config, and a run id in use', { timeout: 60_000 }, async () => {
    const cfg = config('clt');
    const home = studioHome(tempHome());
    await trainKindDictionary(cfg, { home, runId: 'c', maxStepsThisProcess: 1 });
    await expect(trainKindDictionary({ ...cfg, lr: 1e-3 }, { home, runId: 'c', resume: true })).rejects.toThrow(
      /the run's config differs/,
    );
    await expect(trainKindDictionary(cfg, { home, runId: 'c' })).rejects.toThrow(/a run with this id exists/);
  });
});

/** mulberry32: a small seeded generator for the kill moments. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts `sae-studio train` and SIGKILLs it `delayMs` after it reports step `atStep`; resolves once it is gone. */
function trainAndKill(config: string, home: string, atStep: number, delayMs: number): Promise<void> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'sae-studio.js'), 'train', '--config', config, '--run-id', 'k'],
    {
      env: { ...process.env, SAE_STUDIO_HOME: home },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise<void>((resolve, reject) => {
    let err = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (!killed && new RegExp(`^step ${atStep}/`, 'm').test(err)) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`train exited (${code}) before it was killed at step ${atStep}: ${err.slice(-500)}`));
    });
  });
}

describe('sae-studio train --resume after SIGKILL', () => {
  const random = seeded(21);
  for (const kind of ['lorsa', 'crosscoder']) {
    const atStep = 2 + Math.floor(random() * 3); // 2..4 of 6: a checkpoint of step 1 or later exists
    const delayMs = Math.floor(random() * 40);
    it(
      `${kind}: killed ${delayMs} ms after step ${atStep}, resumed = uninterrupted`,
      { timeout: 120_000 },
      async () => {
        const home = tempHome();
        const file = join(home, 'train.json');
        // A checkpoint after every step, so that kills land in and around checkpoint writes.
        const cfg = config(kind, { checkpoint_every_tokens: 200 });
        writeFileSync(file, JSON.stringify(cfg));
        await trainAndKill(file, home, atStep, delayMs);
        expect(existsSync(join(home, 'dictionaries', cfg.name))).toBe(false);
        const r = runCli(['train', '--resume', 'k'], { SAE_STUDIO_HOME: home });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { steps: number; dictionary: string };
        expect(out.steps).toBe(6);
        expect(r.stderr).toMatch(/resumed from step [1-6]/);
        const again = runCli(['train', '--resume', 'k'], { SAE_STUDIO_HOME: home });
        expect(again.status).toBe(2);
        expect(again.stderr).toMatch(/the run has finished/);
        const reference =
          uninterrupted[kind] ??
          (await trainKindDictionary(config(kind), { home: studioHome(tempHome()), runId: 'a' })).dictionaryDir!;
        expectSameWeights(reference, out.dictionary);
      },
    );
  }
});
