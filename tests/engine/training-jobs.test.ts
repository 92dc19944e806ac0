// Training through the supervisor and real engine child processes: metrics stream and land in the store, cancel
// stops a run with a checkpoint and resume finishes it, and an engine killed with SIGKILL leaves a failed run that
// resumes to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallTextDataset, smallTrainConfig } from '../helpers/train-fixtures';
import { createStudioFixture, messagesOf, nextEvent, type StudioFixture } from './studio-fixture';

const STEPS = 48;

// One studio for the whole file: the suites below run in order and see each other's runs and dictionaries.
let f: StudioFixture;
let dataset: string;
beforeAll(() => {
  f = createStudioFixture();
  dataset = smallTextDataset();
});
afterAll(async () => {
  await f.close();
});

const config = (name: string, checkpointSteps: number) =>
  smallTrainConfig(dataset, {
    name,
    total_training_tokens: 256 * STEPS,
    checkpoint_every_tokens: 256 * checkpointSteps,
  }) as Record<string, unknown>;

describe('training jobs: cancel and resume', () => {
  it('streams metrics, stops on cancelRun with a checkpoint, and resumeRun finishes the run', async () => {
    const { runId, jobId } = await f.client.startTraining({ config: config('small', 16), runId: 'run-a' });
    expect(runId).toBe('run-a');
    expect((await f.client.getRun({ id: runId })).run).toMatchObject({
      status: 'running',
      active: true,
      resumable: false,
      dictionaryName: 'small',
    });

    await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'metrics' && e.message.step >= 2);
    expect(await f.client.cancelRun({ id: runId })).toEqual({ cancelling: true });
    const cancelled = await f.supervisor.waitForJob(jobId);
    expect(cancelled.status).toBe('cancelled');

    const messages = messagesOf(f, jobId);
    const done = messages.find((m) => m.type === 'done');
    expect(done).toMatchObject({ result: { kind: 'train', cancelled: true, dictionary: null } });
    const stoppedAt = done?.type === 'done' ? done.result.kind === 'train' && done.result.steps : -1;
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(STEPS);
    expect(messages.at(-1)).toEqual({ type: 'ended', status: 'cancelled', error: null, resumable: true });
    expect(messages.filter((m) => m.type === 'checkpoint').at(-1)).toMatchObject({ step: stoppedAt });

    const afterCancel = await f.client.getRun({ id: runId });
    expect(afterCancel.run).toMatchObject({ status: 'cancelled', active: false, resumable: true, lastStep: stoppedAt });
    expect(afterCancel.run.checkpoints.at(-1)?.step).toBe(stoppedAt);
    expect(afterCancel.metrics.map((p) => p.step)).toEqual(Array.from({ length: Number(stoppedAt) }, (_, i) => i + 1));
    expect(afterCancel.metrics[0]!.values).toMatchObject({
      loss: expect.any(Number),
      l0: expect.any(Number),
      explained_variance: expect.any(Number),
    });

    const resumed = await f.client.resumeRun({ id: runId });
    expect(resumed.runId).toBe(runId);
    expect((await f.supervisor.waitForJob(resumed.jobId)).status).toBe('done');
    expect(messagesOf(f, resumed.jobId)).toContainEqual({
      type: 'progress',
      phase: 'training',
      done: stoppedAt,
      total: STEPS,
      unit: 'steps',
    });

    const finished = await f.client.getRun({ id: runId });
    expect(finished.run).toMatchObject({
      status: 'done',
      error: null,
      active: false,
      resumable: false,
      lastStep: STEPS,
    });
    expect(finished.metrics.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    const { dictionaries } = await f.client.listDictionaries({});
    expect(dictionaries).toEqual([
      expect.objectContaining({
        name: 'small',
        dSae: 512,
        modelName: 'pdlm-4l-256',
        hookPointIn: 'blocks.1.hook_resid_post',
      }),
    ]);
    await expect(f.client.resumeRun({ id: runId })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('has finished'),
    });
    expect(f.warnings).toEqual([]);
  });
});

describe('training jobs: an engine killed with SIGKILL', () => {
  it('reports an engine killed with SIGKILL as failed, keeps the run resumable, and resumes it to the end', async () => {
    const { runId, jobId } = await f.client.startTraining({ config: config('crashy', 4), runId: 'run-b' });
    await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'checkpoint');
    const engine = f.engines.at(-1)!;
    process.kill(engine.pid!, 'SIGKILL');
    const info = await f.supervisor.waitForJob(jobId);
    expect(info).toMatchObject({ status: 'failed', error: expect.stringContaining('killed by SIGKILL') });
    expect(messagesOf(f, jobId).at(-1)).toMatchObject({ type: 'ended', status: 'failed', resumable: true });

    const { runs } = await f.client.listRuns({ status: 'failed' });
    expect(runs).toEqual([
      expect.objectContaining({ id: runId, resumable: true, active: false, error: expect.stringContaining('SIGKILL') }),
    ]);

    const resumed = await f.client.resumeRun({ id: runId });
    expect((await f.supervisor.waitForJob(resumed.jobId)).status).toBe('done');
    const finished = await f.client.getRun({ id: runId });
    expect(finished.run).toMatchObject({ status: 'done', error: null, lastStep: STEPS });
    expect(new Set(finished.metrics.map((p) => p.step)).size).toBe(STEPS);
  });
});

describe('training jobs: evaluation and feature analysis after training', () => {
  it('evaluates after training, records the metrics with the dictionary, logs the run, and analyses its features', async () => {
    const cfg = { ...config('evaluated', 100), total_training_tokens: 256 * 6, eval_windows: 4, analyze_tokens: 2000 };
    const { runId, jobId } = await f.client.startTraining({ config: cfg, runId: 'run-eval' });
    expect((await f.supervisor.waitForJob(jobId)).status).toBe('done');
    const messages = messagesOf(f, jobId);
    expect(messages).toContainEqual(expect.objectContaining({ type: 'progress', phase: 'evaluating' }));
    const done = messages.find((m) => m.type === 'done');
    const evaluation = done?.type === 'done' && done.result.kind === 'train' ? done.result.evaluation : null;
    expect(evaluation).toMatchObject({
      explained_variance: expect.any(Number),
      l0: 8,
      ce_loss_recovered: expect.any(Number),
      tokens: 4 * 63,
    });

    const dict = (await f.client.listDictionaries({})).dictionaries.find((d) => d.name === 'evaluated');
    expect(dict?.metrics).toMatchObject({
      explained_variance: evaluation!.explained_variance,
      ce_orig: evaluation!.ce_orig,
    });

    // The analysis follows as its own job, tied to the run: its events carry the run id.
    const analysis = await nextEvent(f, (e) => e.kind === 'analyze' && e.runId === runId && e.message.type === 'ended');
    expect(analysis.message).toMatchObject({ status: 'done' });
    const page = await f.client.listFeatures({ dictionary: 'evaluated' });
    expect(page.analysis).toBe('default');
    expect(page.total).toBe(512);

    const { log, run } = await f.client.getRun({ id: runId });
    expect(run.status).toBe('done');
    expect(log.some((l) => /evaluation on the last 4 of \d+ windows: explained variance/.test(l))).toBe(true);
    expect(log.at(-1)).toMatch(/feature analysis saved to the store$/);
    expect(log.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(l))).toBe(true);
  });
});

describe('training jobs: runs that cannot be resumed or cancelled', () => {
  it('refuses to resume what cannot be resumed', async () => {
    await expect(f.client.resumeRun({ id: 'no-such-run' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('no such run'),
    });
    await expect(f.client.cancelRun({ id: 'no-such-run' })).resolves.toEqual({ cancelling: false });
  });
});
