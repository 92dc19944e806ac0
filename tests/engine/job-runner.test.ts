// The engine's job runner in this process, over a fake parent port: the one-message protocol of a start that cannot
// run (malformed, missing or bad config, unknown run), and the abort signal that also answers to the cancel file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cancelSignal } from '../../src/engine/cancel-signal';
import { EXIT_BAD_INPUT, EXIT_FAILED, runEngine } from '../../src/engine/job-runner';
import { MetricsBatcher } from '../../src/engine/metrics-batcher';
import type { ParentPort } from '../../src/engine/parent-port';
import type { EngineMessage } from '../../src/protocol/job-protocol';
import type { MetricPoint } from '../../src/protocol/runs';
import { tempHome } from '../helpers/train-fixtures';

/** Runs the engine with `incoming` delivered as the parent's messages; returns the exit status and what it sent. */
async function runWith(...incoming: unknown[]): Promise<{ code: number; sent: EngineMessage[] }> {
  const sent: EngineMessage[] = [];
  let deliver: (m: unknown) => void = () => undefined;
  const port: ParentPort = {
    send: async (m) => void sent.push(JSON.parse(JSON.stringify(m)) as EngineMessage),
    onMessage: (l) => (deliver = l),
    onDisconnect: () => undefined,
  };
  const running = runEngine(port);
  for (const m of incoming) deliver(m);
  return { code: await running, sent };
}

describe('engine job runner', () => {
  beforeAll(() => {
    process.env.SAE_STUDIO_HOME = tempHome();
  });

  it('answers a malformed first message with one error', async () => {
    const { code, sent } = await runWith({ type: 'begin' });
    expect(code).toBe(EXIT_FAILED);
    expect(sent).toEqual([{ type: 'error', message: expect.stringContaining('malformed message'), inputError: false }]);
  });

  it.each([
    [
      'a new run without config',
      { kind: 'train', runId: 'r', resume: false },
      "run 'r': a new run needs its train config",
    ],
    [
      'a config the schema rejects',
      { kind: 'train', runId: 'r', resume: false, config: { total_training_tokens: 10 } },
      "train config: field 'sae'",
    ],
    ['the resume of an unknown run', { kind: 'train', runId: 'gone', resume: true }, 'no such run'],
    [
      'the analysis of an unknown dictionary',
      { kind: 'analyze', dictionary: 'nope', dataset: 'pdlm-corpus', split: null, tokens: 10, backend: 'cpu' },
      "dictionary 'nope' not found",
    ],
  ])('reports %s as an input error and exits with status 2', async (_, job, message) => {
    const { code, sent } = await runWith({ type: 'start', jobId: 'j', job });
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(sent.filter((m) => m.type === 'error')).toEqual([
      { type: 'error', message: expect.stringContaining(message), inputError: true },
    ]);
    expect(sent.at(-1)?.type).toBe('error');
  });
});

describe('cancelSignal', () => {
  it('aborts when the cancel file appears, and behaves as an AbortSignal otherwise', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sae-cancel-')), 'job.cancel');
    const controller = new AbortController();
    const signal = cancelSignal(controller, file);
    let heard = 0;
    signal.addEventListener('abort', () => heard++);
    signal.onabort = () => heard++;
    expect(signal.aborted).toBe(false);
    writeFileSync(file, '');
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(2);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(controller.signal.aborted).toBe(true);
  });

  it('aborts on the cancel message alone', () => {
    const controller = new AbortController();
    const signal = cancelSignal(controller, undefined);
    controller.abort();
    expect(signal.aborted).toBe(true);
  });
});

describe('MetricsBatcher', () => {
  const point = (step: number): MetricPoint => ({ step, tokens: step * 10, values: { loss: 1 / step } });

  it('writes full batches at once, the rest on flush, and nothing empty', () => {
    const batches: number[][] = [];
    const b = new MetricsBatcher((ps) => batches.push(ps.map((p) => p.step)), { points: 3, ms: 60_000 });
    for (let s = 1; s <= 7; s++) b.add(point(s));
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    b.flush();
    b.flush();
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('writes a partial batch once its oldest point has waited long enough', async () => {
    const batches: number[][] = [];
    const b = new MetricsBatcher((ps) => batches.push(ps.map((p) => p.step)), { points: 100, ms: 20 });
    b.add(point(1));
    b.add(point(2));
    await new Promise((r) => setTimeout(r, 80));
    expect(batches).toEqual([[1, 2]]);
  });
});

describe('MetricsBatcher when the store is busy', () => {
  it('keeps a batch whose write failed and writes it with the next one', () => {
    const batches: number[][] = [];
    let busy = true;
    const errors: unknown[] = [];
    const b = new MetricsBatcher(
      (ps) => {
        if (busy) throw new Error('SQLITE_BUSY');
        batches.push(ps.map((p) => p.step));
      },
      { points: 2, ms: 60_000 },
      (e) => errors.push(e),
    );
    b.add({ step: 1, tokens: 1, values: {} });
    b.add({ step: 2, tokens: 2, values: {} });
    expect(errors).toHaveLength(1);
    busy = false;
    b.add({ step: 3, tokens: 3, values: {} });
    expect(batches).toEqual([[1, 2, 3]]);
    expect(b.flush()).toBe(true);
  });
});
