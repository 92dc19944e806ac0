// Training jobs of the dictionary kinds beyond `sae`, through the supervisor and real engine child processes: a
// crosscoder across layers 1–3 streams metrics into the store, finishes with its evaluation, and is registered as a
// dictionary with sae_type 'crosscoder'; a MoLT run cancelled mid-way ends cancelled, without a dictionary and not
// resumable (these kinds keep no checkpoints).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookName } from '../../src/protocol/hook-names';
import { smallTextDataset, smallTrainConfig } from '../helpers/train-fixtures';
import { createStudioFixture, messagesOf, nextEvent, type StudioFixture } from './studio-fixture';

let f: StudioFixture;
let dataset: string;
beforeAll(() => {
  f = createStudioFixture();
  dataset = smallTextDataset();
});
afterAll(async () => {
  await f.close();
});

const kindConfig = (name: string, sae: Record<string, unknown>, steps: number) =>
  ({ ...smallTrainConfig(dataset, { name, total_training_tokens: 256 * steps }), sae }) as Record<string, unknown>;

describe('training jobs of the other dictionary kinds', () => {
  it('trains a crosscoder across layers 1–3, records its metrics and evaluation, and registers it', async () => {
    const hooks = [1, 2, 3].map((l) => hookName(l, 'resid_post'));
    const cfg = {
      ...kindConfig('xc', { sae_type: 'crosscoder', hook_points: hooks, d_sae: 64, act_fn: 'topk', top_k: 8 }, 6),
      eval_windows: 2,
    };
    const { runId, jobId } = await f.client.startTraining({ config: cfg, runId: 'run-xc' });
    const info = await f.supervisor.waitForJob(jobId);
    expect(info).toMatchObject({ status: 'done', error: null });
    const messages = messagesOf(f, jobId);
    expect(messages).toContainEqual(expect.objectContaining({ type: 'progress', phase: 'training', total: 6 }));
    expect(messages).toContainEqual(expect.objectContaining({ type: 'progress', phase: 'evaluating' }));
    expect(messages.at(-1)).toEqual({ type: 'ended', status: 'done', error: null, resumable: false });

    const run = await f.client.getRun({ id: runId });
    expect(run.run).toMatchObject({ status: 'done', active: false, resumable: false, dictionaryName: 'xc' });
    expect(run.metrics.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    const last = run.metrics.at(-1)!.values;
    expect(last.l0).toBeGreaterThan(0);
    expect(last.l0).toBeLessThanOrEqual(8);
    expect(Number.isFinite(last.explained_variance)).toBe(true);

    const { dictionaries } = await f.client.listDictionaries({});
    const xc = dictionaries.find((d) => d.name === 'xc');
    expect(xc).toMatchObject({ saeType: 'crosscoder', dSae: 64, modelName: 'pdlm-4l-256' });
    expect(xc?.config).toMatchObject({ sae_type: 'crosscoder', hook_points: hooks, top_k: 8 });
    expect(existsSync(join(xc!.path, 'config.json'))).toBe(true);
    // Evaluation: kind-wide values under the SAE's names, and one EV per head.
    expect(xc?.metrics).toMatchObject({
      explained_variance: expect.any(Number),
      l0: expect.any(Number),
      ce_loss_recovered: expect.any(Number),
      'explained_variance.0': expect.any(Number),
      'explained_variance.2': expect.any(Number),
    });
    expect(xc?.metrics).not.toHaveProperty('explained_variance.3');
    expect(f.warnings).toEqual([]);
  });

  it('cancels a MoLT run (cancelled, a checkpoint, no dictionary) and resumes it to the end', async () => {
    const sae = {
      sae_type: 'molt',
      hook_point_in: hookName(0, 'ln2.hook_normalized'),
      hook_point_out: hookName(0, 'mlp_out'),
      rank_counts: { '1': 32, '2': 16 },
      act_fn: 'topk',
      top_k: 4,
    };
    const { runId, jobId } = await f.client.startTraining({ config: kindConfig('molt-c', sae, 400), runId: 'run-m' });
    await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'metrics' && e.message.step >= 2);
    expect(await f.client.cancelRun({ id: runId })).toEqual({ cancelling: true });
    expect((await f.supervisor.waitForJob(jobId)).status).toBe('cancelled');
    const messages = messagesOf(f, jobId);
    expect(messages.find((m) => m.type === 'done')).toMatchObject({
      result: { kind: 'train', cancelled: true, dictionary: null },
    });
    expect(messages.at(-1)).toEqual({ type: 'ended', status: 'cancelled', error: null, resumable: true });
    expect((await f.client.getRun({ id: runId })).run).toMatchObject({ status: 'cancelled', resumable: true });
    expect((await f.client.listDictionaries({})).dictionaries.map((d) => d.name)).not.toContain('molt-c');
    const resumed = await f.client.resumeRun({ id: runId });
    expect((await f.supervisor.waitForJob(resumed.jobId)).status).toBe('done');
    expect((await f.client.listDictionaries({})).dictionaries.map((d) => d.name)).toContain('molt-c');
  });
});
