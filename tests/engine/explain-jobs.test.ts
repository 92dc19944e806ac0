// Auto-interpretation as a studio job: startExplain runs an 'autointerp' engine process that reports progress per
// feature and stores each explanation with its scores; the endpoint's API key reaches the endpoint but no event,
// job record or store file; a cancel stops the job between features and keeps what it saved. The prompt templates
// are read, edited (used by the next job) and reset through the service.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LM_SAES_COT_PROMPT } from '../../src/core/autointerp';
import { getInterpretation, listFeatures } from '../../src/core/store';
import { analysedDictionary } from '../helpers/analysed-dictionary';
import { cannedAnswer, startOpenAiTestServer, type OpenAiTestServer } from '../helpers/openai-test-server';
import { tempHome } from '../helpers/train-fixtures';
import { createStudioFixture, messagesOf, nextEvent, type StudioFixture } from './studio-fixture';

describe('explain jobs', () => {
  let f: StudioFixture;
  let server: OpenAiTestServer;
  let live: number[];

  beforeAll(async () => {
    const root = tempHome();
    analysedDictionary(root);
    f = createStudioFixture(root);
    live = listFeatures(f.store, 'small', { sort: 'frequency', limit: 3 }).items.map((x) => x.index);
    server = await startOpenAiTestServer(cannedAnswer);
  }, 300_000);
  afterAll(async () => {
    await f?.close();
    await server?.close();
  });

  it('explains features through an endpoint with progress, the key only in the requests', async () => {
    const key = 'sk-job-secret-789';
    const edited = 'EDITED: explain this feature. {cot_prompt}';
    const p = await f.client.setExplainPrompts({ templates: { explanationSystem: edited } });
    expect(p.templates.explanationSystem).toBe(edited);
    expect(p.defaults.explanationSystem).toContain("We're studying features in a neural network.");
    const { jobId } = await f.client.startExplain({
      dictionary: 'small',
      features: `${live[0]},${live[1]}`,
      explainer: { backend: 'openai', baseUrl: server.baseUrl, model: 'endpoint-model' },
      apiKey: key,
      settings: { scorers: ['detection', 'fuzzing'], maxTokens: 100, temperature: 0, overwriteExisting: true, seed: 1 },
    });
    const ended = await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'ended', 120_000);
    expect(ended.message).toMatchObject({ status: 'done' });
    const progress = messagesOf(f, jobId).filter((m) => m.type === 'progress');
    expect(progress.map((m) => [m.done, m.total, m.unit])).toEqual([
      [1, 2, 'features'],
      [2, 2, 'features'],
    ]);
    const done = messagesOf(f, jobId).find((m) => m.type === 'done');
    expect(done).toMatchObject({
      result: { kind: 'autointerp', explained: 2, explainer: { model: 'endpoint-model' } },
    });
    expect(server.requests).toHaveLength(6);
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${key}`)).toBe(true);
    expect(server.requests[0]!.body.messages![0]!.content).toBe(edited.replace('{cot_prompt}', LM_SAES_COT_PROMPT));
    const detail = getInterpretation(f.store, 'small', live[0]!)!.detail as { explainer: unknown };
    expect(detail.explainer).toEqual({ backend: 'openai', model: 'endpoint-model' });
    expect(JSON.stringify(f.events)).not.toContain(key);
    expect(JSON.stringify(f.supervisor.listJobs())).not.toContain(key);
    expect(readFileSync(join(f.home.root, 'studio.db')).includes(key)).toBe(false);
    const reset = await f.client.setExplainPrompts({ templates: null });
    expect(reset.templates).toEqual(reset.defaults);
  }, 180_000);

  it('explains with pdlm-4l-256 as the local explainer and stops on cancel, keeping what it saved', async () => {
    const { jobId } = await f.client.startExplain({
      dictionary: 'small',
      features: 'all',
      explainer: { backend: 'local', model: 'pdlm-4l-256' },
      settings: { scorers: ['detection'], maxTokens: 2, temperature: 0, overwriteExisting: true, seed: 1 },
      backend: 'cpu',
    });
    await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'progress', 180_000);
    expect((await f.client.cancelJob({ jobId })).cancelling).toBe(true);
    const ended = await nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'ended', 180_000);
    expect(ended.message).toMatchObject({ status: 'cancelled' });
    const stored = listFeatures(f.store, 'small', { limit: 256 }).items.filter((x) => x.interpretation !== null);
    const local = stored.filter(
      (x) =>
        (getInterpretation(f.store, 'small', x.index)!.detail as { explainer: { model: string } }).explainer.model ===
        'pdlm-4l-256',
    );
    expect(local.length).toBeGreaterThan(0);
    expect(local.length).toBeLessThan(256);
  }, 400_000);

  it('refuses a bad feature list in one line', async () => {
    await expect(
      f.client.startExplain({
        dictionary: 'small',
        features: '300',
        explainer: { backend: 'local', model: 'pdlm-4l-256' },
      }),
    ).rejects.toThrow(/features range 300 is outside 0-255/);
  });
});
