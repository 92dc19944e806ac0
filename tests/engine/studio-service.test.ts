// The StudioService implementation over the in-memory transport on a temporary home: models, config and folder
// checks with field-level issues, then a trained and analysed dictionary browsed through the service (features,
// interpretations, bookmarks, features on a text) and an analysis cancelled.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainConfigDraft } from '../../src/protocol/run-config';
import { ServiceError } from '../../src/protocol/service-error';
import { archFixture, PDLM_DIR } from '../helpers/fixtures';
import { smallTextDataset, smallTrainConfig } from '../helpers/train-fixtures';
import { createStudioFixture, messagesOf, type StudioFixture } from './studio-fixture';

// One studio (temporary home, supervisor, service) for the whole file: the second suite's job list counts on the
// first starting none.
let f: StudioFixture;
let dataset: string;
beforeAll(() => {
  f = createStudioFixture();
  dataset = smallTextDataset();
});
afterAll(async () => {
  await f.close();
});

describe('StudioService: models, datasets, folders and configs', () => {
  it('describes itself and the bundled models with their hook points', async () => {
    expect(await f.client.appInfo({})).toEqual({ name: 'SAE Studio', version: '0.0.0-test' });
    const { models } = await f.client.listModels({});
    const pdlm = models.find((m) => m.name === 'pdlm-4l-256');
    expect(pdlm).toMatchObject({ ref: 'pdlm-4l-256', bundled: true, nLayers: 4, dModel: expect.any(Number) });
    expect(pdlm?.hookNames).toEqual(
      expect.arrayContaining(['hook_embed', 'blocks.0.hook_resid_pre', 'blocks.3.hook_resid_post']),
    );
  });

  it('tells where its data lives and what it computes on', async () => {
    const info = await f.client.systemInfo({});
    expect(info).toMatchObject({
      home: f.home.root,
      store: join(f.home.root, 'studio.db'),
      cpus: expect.any(Number),
      native: { loaded: expect.any(Boolean) },
    });
    expect(['webgpu', 'wasm', 'cpu']).toContain(info.autoBackend);
    // Without a hardware adapter, auto computes on wasm and says why it did not use WebGPU.
    if (!info.gpu || info.gpu.software) expect(info.autoBackend).toBe('wasm');
    if (!info.gpu) expect(info.gpuReason).toEqual(expect.any(String));
  });

  it('previews a dataset tokenized by the model, or says on which field it fails', async () => {
    const preview = await f.client.previewDataset({ dataset, model: 'pdlm-4l-256', samples: 2, maxTokens: 12 });
    if (!preview.ok) throw new Error(`preview failed: ${JSON.stringify(preview.issues)}`);
    expect(preview).toMatchObject({ kind: 'txt-folder', files: 2 });
    expect(preview.samples.map((s) => s.id)).toEqual(['a.txt', 'b.txt']);
    expect(preview.samples[0]?.tokens).toHaveLength(12);
    expect(preview.samples[0]?.totalTokens).toBeGreaterThan(1000);
    const corpus = await f.client.previewDataset({ dataset: 'pdlm-corpus', model: 'pdlm-4l-256' });
    expect(corpus).toMatchObject({ ok: true, kind: 'embedded', samples: [{}, {}, {}] });
    expect(await f.client.previewDataset({ dataset: join(dataset, 'missing.jsonl'), model: 'pdlm-4l-256' })).toEqual({
      ok: false,
      issues: [{ field: 'dataset', message: expect.stringContaining('no such file or folder') }],
    });
    expect(await f.client.previewDataset({ dataset, model: join(dataset, 'no-model') })).toMatchObject({
      ok: false,
      issues: [{ field: 'model' }],
    });
  });

  it('checks a model folder, or says what is wrong with the path', async () => {
    expect(await f.client.validateModelFolder({ path: PDLM_DIR })).toMatchObject({
      ok: true,
      model: { ref: PDLM_DIR, bundled: false, nLayers: 4 },
    });
    expect(await f.client.validateModelFolder({ path: archFixture('gpt2') })).toEqual({
      ok: false,
      issues: [{ field: 'path', message: expect.stringContaining('no tokenizer.json') }],
    });
    expect(await f.client.validateModelFolder({ path: join(PDLM_DIR, 'nothing-here') })).toEqual({
      ok: false,
      issues: [{ field: 'path', message: expect.stringContaining('no such folder') }],
    });
    expect(await f.client.validateModelFolder({ path: join(PDLM_DIR, 'config.json') })).toMatchObject({
      ok: false,
      issues: [{ field: 'path' }],
    });
  });

  it('validates a train config with the CLI schema and reports every field at fault', async () => {
    const good = await f.client.validateTrainConfig({ config: smallTrainConfig(dataset) as Record<string, unknown> });
    expect(good).toMatchObject({ ok: true, config: { name: 'small', lr: 5e-3, betas: [0.9, 0.999], seed: 42 } });

    // Ill-typed on purpose, as a hand-written file may be: the check reports each field instead of refusing the call.
    const illTyped: unknown = { sae: { act_fn: 'topk' }, total_training_tokens: -1, lr: 'fast', colour: 'red' };
    const schema = await f.client.validateTrainConfig({ config: illTyped as TrainConfigDraft });
    expect(schema.ok).toBe(false);
    expect(schema.ok ? [] : schema.issues.map((i) => i.field).sort()).toEqual([
      'config.colour',
      'config.lr',
      'config.sae.hook_point_in',
      'config.total_training_tokens',
    ]);

    const semantic = await f.client.validateTrainConfig({
      config: smallTrainConfig('/no/such/dataset', {
        sae: { hook_point_in: 'blocks.9.hook_resid_post', act_fn: 'topk' },
      }) as Record<string, unknown>,
    });
    expect(semantic).toEqual({
      ok: false,
      issues: [
        { field: 'config.sae.hook_point_in', message: expect.stringContaining('the model has blocks 0..3') },
        { field: 'config.sae.expansion_factor', message: 'give expansion_factor or d_sae' },
        { field: 'config.dataset', message: expect.stringContaining('no such file or folder') },
      ],
    });
  });

  it('refuses to start a bad config, with the same issues, and starts nothing', async () => {
    const err = await f.client
      .startTraining({ config: { sae: {}, total_training_tokens: 0 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({
      code: 'invalid_input',
      issues: expect.arrayContaining([{ field: 'config.total_training_tokens', message: expect.any(String) }]),
    });
    const badId = await f.client.startTraining({ config: {}, runId: '../escape' }).catch((e: unknown) => e);
    expect(badId).toMatchObject({ code: 'invalid_input', issues: [{ field: 'runId', message: expect.any(String) }] });
    expect((await f.client.listRuns({})).runs).toEqual([]);
    expect((await f.client.listJobs({})).jobs).toEqual([]);
  });

  it('turns core input errors into invalid_input', async () => {
    await expect(f.client.getFeature({ dictionary: 'nope', index: 0 })).rejects.toMatchObject({
      code: 'invalid_input',
      message: "unknown dictionary 'nope' (there are none yet)",
    });
    await expect(f.client.getRun({ id: 'nope' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: "unknown run 'nope'",
    });
    await expect(f.client.startAnalysis({ dictionary: 'nope', dataset: '/no/such/dataset' })).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [
        { field: 'dictionary', message: expect.any(String) },
        { field: 'dataset', message: expect.any(String) },
      ],
    });
  });
});

describe('StudioService with a trained and analysed dictionary', () => {
  beforeAll(async () => {
    const { jobId } = await f.client.startTraining({
      config: smallTrainConfig(dataset) as Record<string, unknown>,
      runId: 'base',
    });
    expect((await f.supervisor.waitForJob(jobId)).status).toBe('done');
    const analysis = await f.client.startAnalysis({
      dictionary: 'small',
      dataset,
      split: 'all',
      tokens: 3000,
      backend: 'wasm',
    });
    const info = await f.supervisor.waitForJob(analysis.jobId);
    expect(info, info.error ?? '').toMatchObject({ status: 'done', kind: 'analyze', runId: null, dictionary: 'small' });
    const messages = messagesOf(f, analysis.jobId);
    expect(messages).toContainEqual(
      expect.objectContaining({ type: 'progress', phase: 'activations', unit: 'tokens' }),
    );
    expect(messages).toContainEqual({
      type: 'done',
      result: expect.objectContaining({ kind: 'analyze', dictionary: 'small', analysis: 'default' }),
    });
  });

  it('pages, sorts and filters features', async () => {
    const page = await f.client.listFeatures({ dictionary: 'small', sort: 'frequency', limit: 5 });
    expect(page).toMatchObject({ dictionary: 'small', analysis: 'default', total: 512 });
    expect(page.items).toHaveLength(5);
    const freqs = page.items.map((i) => i.frequency);
    expect([...freqs].sort((a, b) => b - a)).toEqual(freqs);
    const fifth = freqs[4];
    if (fifth === undefined) throw new Error('expected 5 features');
    const rare = await f.client.listFeatures({ dictionary: 'small', maxFrequency: fifth / 2, limit: 10_000 });
    expect(rare.items.every((i) => i.frequency <= fifth / 2)).toBe(true);
  });

  it('shows one feature with its samples as token strings and one activation per token', async () => {
    const [top] = (await f.client.listFeatures({ dictionary: 'small', sort: 'max', limit: 1 })).items;
    if (!top) throw new Error('expected a feature');
    const feature = await f.client.getFeature({ dictionary: 'small', index: top.index });
    expect(feature.stats).toMatchObject({ maxActivation: top.maxActivation, frequency: top.frequency });
    const sample = feature.samplings[0]?.samples[0];
    if (!sample) throw new Error('expected a sample in the first sampling');
    expect(sample.tokens).toHaveLength(sample.tokenIds.length);
    expect(sample.activations).toHaveLength(sample.tokens.length);
    expect(sample.tokens.join('')).toMatch(/[a-z]{3}/i);
    expect(Math.max(...sample.activations)).toBeCloseTo(sample.maxActivation, 4);
    await expect(f.client.getFeature({ dictionary: 'small', index: 512 })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('out of range'),
    });
  });

  it('saves interpretations and bookmarks, and finds features by their interpretation', async () => {
    const set = await f.client.setInterpretation({ dictionary: 'small', index: 7, text: 'Names of people' });
    expect(set.interpretation).toMatchObject({ text: 'Names of people', detail: null });
    const found = await f.client.listFeatures({ dictionary: 'small', search: 'names' });
    expect(found.items.map((i) => i.index)).toEqual([7]);
    expect(found.items[0]?.interpretation).toBe('Names of people');

    expect(
      (await f.client.addBookmark({ dictionary: 'small', index: 7, tags: ['people'], note: 'check' })).bookmark,
    ).toMatchObject({ index: 7, tags: ['people'], note: 'check' });
    expect((await f.client.listBookmarks({ tags: ['people'] })).bookmarks.map((b) => b.index)).toEqual([7]);
    expect((await f.client.getFeature({ dictionary: 'small', index: 7 })).bookmark).toMatchObject({ tags: ['people'] });
    expect(await f.client.removeBookmark({ dictionary: 'small', index: 7 })).toEqual({ removed: true });
    expect(await f.client.removeBookmark({ dictionary: 'small', index: 7 })).toEqual({ removed: false });
    expect((await f.client.setInterpretation({ dictionary: 'small', index: 7, text: null })).interpretation).toBeNull();
  });

  it('runs the dictionary on a typed text', async () => {
    const { tokens } = await f.client.featuresOnText({
      dictionary: 'small',
      text: 'Emma was very happy.',
      topFeatures: 3,
    });
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.map((t) => t.position)).toEqual(tokens.map((_, i) => i));
    for (const t of tokens.slice(1)) {
      expect(t.features.length).toBeGreaterThan(0);
      expect(t.features.length).toBeLessThanOrEqual(3);
      expect(t.features[0]?.activation).toBeGreaterThan(0);
    }
  });

  it('cancels an analysis without touching the saved one', async () => {
    const { jobId } = await f.client.startAnalysis({
      dictionary: 'small',
      dataset,
      split: 'all',
      tokens: 1_000_000,
      backend: 'wasm',
      name: 'big',
    });
    expect(await f.client.cancelJob({ jobId })).toEqual({ cancelling: true });
    expect(await f.supervisor.waitForJob(jobId)).toMatchObject({ status: 'cancelled', error: null });
    expect(messagesOf(f, jobId).at(-1)).toMatchObject({ type: 'ended', status: 'cancelled' });
    expect((await f.client.listFeatures({ dictionary: 'small' })).analysis).toBe('default');
    expect(await f.client.cancelJob({ jobId })).toEqual({ cancelling: false });
    const { jobs } = await f.client.listJobs({});
    expect(jobs.map((j) => [j.kind, j.status])).toEqual([
      ['analyze', 'cancelled'],
      ['analyze', 'done'],
      ['train', 'done'],
    ]);
  });
});
