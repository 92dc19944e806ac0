// A circuit computed through the studio service: the dictionary sets listed, the prompt's next-token preview (in
// this process, fast once the model is loaded, and equal to the probabilities the computed graph records on its logit
// nodes), computeCircuit as an 'attribute' job in its own engine process (progress events, the graph row running →
// done, the graph opened), a cancelled one ('cancelled' in the store and the job), and the bad inputs refused at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getGraph } from '../../src/core/store';
import { ServiceError } from '../../src/protocol/service-error';
import { saveRandomReplacementSet } from '../helpers/replacement-set';
import { createStudioFixture, messagesOf, nextEvent, type StudioFixture } from './studio-fixture';

let f: StudioFixture;

beforeAll(() => {
  f = createStudioFixture();
  saveRandomReplacementSet(f.home.root);
});

afterAll(async () => {
  await f.close();
});

const PROMPT = 'The cat sat on the mat because it was';
const ended = (jobId: string) => nextEvent(f, (e) => e.jobId === jobId && e.message.type === 'ended', 240_000);

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceError);
  expect((err as ServiceError).code).toBe('invalid_input');
  return (err as ServiceError).message;
}

describe('circuits through the studio service', () => {
  it('lists the sets, previews the next token, computes and opens a graph', async () => {
    const { sets } = await f.client.listDictionarySets({});
    expect(sets.map((s) => [s.name, s.modelName, s.members.length])).toEqual([['replacement', 'pdlm-4l-256', 5]]);

    const first = await f.client.previewNextToken({ set: 'replacement', prompt: PROMPT });
    const t0 = performance.now();
    const preview = await f.client.previewNextToken({ set: 'replacement', prompt: PROMPT });
    const ms = performance.now() - t0;
    console.log(
      `previewNextToken on pdlm-4l-256, ${preview.promptTokens.length} tokens, model loaded: ${ms.toFixed(0)} ms`,
    );
    expect(ms).toBeLessThan(1000);
    expect(preview).toEqual(first);
    expect(preview.model).toBe('pdlm-4l-256');
    expect(preview.top).toHaveLength(10);
    expect(preview.promptTokens.length).toBeGreaterThanOrEqual(8);
    const probs = preview.top.map((t) => t.prob);
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    expect(probs[0]).toBeGreaterThan(0.05);

    const { jobId, name } = await f.client.computeCircuit({
      set: 'replacement',
      prompt: PROMPT,
      settings: { max_feature_nodes: 64, batch_size: 16, max_n_logits: 5 },
      prune: { node_threshold: 0.8, edge_threshold: 0.98 },
      name: 'cat',
    });
    expect(name).toBe('cat');
    const end = await ended(jobId);
    expect(end.message).toMatchObject({ type: 'ended', status: 'done', error: null });
    expect(end.kind).toBe('attribute');
    const messages = messagesOf(f, jobId);
    expect(messages.some((m) => m.type === 'progress' && m.phase === 'features')).toBe(true);
    const done = messages.find((m) => m.type === 'done');
    expect(done?.type === 'done' && done.result).toMatchObject({ kind: 'attribute', graph: 'cat' });
    expect((await f.client.listJobs({})).jobs.find((j) => j.jobId === jobId)).toMatchObject({
      kind: 'attribute',
      graph: 'cat',
      dictionary: 'replacement',
      status: 'done',
    });

    const record = await f.client.getGraph({ name: 'cat' });
    expect(record.summary).toMatchObject({
      status: 'done',
      progress: 1,
      origin: 'computed',
      dictionarySet: 'replacement',
    });
    const graph = record.graph!;
    expect(graph.metadata.prompt).toBe(PROMPT);
    expect(graph.nodes.some((n) => n.feature_type === 'cross layer transcoder')).toBe(true);
    expect(record.dictionaries.map((d) => d.name)).toContain('replacement-clt');
    // The graph's logit nodes carry the same next-token probabilities as the preview.
    const logits = graph.nodes.filter((n) => n.feature_type === 'logit');
    expect(logits.length).toBeGreaterThan(0);
    for (const l of logits) {
      const shown = preview.top.find((t) => t.id === l.feature);
      expect(shown, `logit node ${l.node_id}`).toBeDefined();
      expect(l.token_prob).toBeCloseTo(shown!.prob, 3);
    }

    expect((await f.client.listGraphs({})).graphs.map((g) => [g.name, g.status])).toEqual([['cat', 'done']]);
  }, 300_000);

  it('cancels a circuit: the job and the graph end cancelled, with no JSON', async () => {
    const prompt = Array.from({ length: 6 }, () => PROMPT).join(' ');
    const { jobId, name } = await f.client.computeCircuit({
      set: 'replacement',
      prompt,
      settings: { max_feature_nodes: null, batch_size: 1 },
      name: 'cat',
    });
    expect(name).toBe('cat-2'); // the name asked for is taken
    await nextEvent(
      f,
      (e) => e.jobId === jobId && e.message.type === 'progress' && e.message.phase === 'features',
      240_000,
    );
    expect((await f.client.getGraph({ name })).summary.status).toBe('running');
    expect(await f.client.cancelJob({ jobId })).toEqual({ cancelling: true });
    const end = await ended(jobId);
    expect(end.message).toMatchObject({ type: 'ended', status: 'cancelled', error: null });
    const record = await f.client.getGraph({ name });
    expect(record.summary).toMatchObject({ status: 'cancelled', origin: 'computed' });
    expect(record.graph).toBeNull();
    expect(getGraph(f.store, name)?.status).toBe('cancelled');
  }, 300_000);

  it('refuses bad input in one line, before any job starts', async () => {
    const jobs = (await f.client.listJobs({})).jobs.length;
    expect(await refusal(f.client.computeCircuit({ set: 'nope', prompt: PROMPT }))).toMatch(
      /^no dictionary set named 'nope' in .*studio\.db \(it has: replacement\)$/,
    );
    expect(await refusal(f.client.computeCircuit({ set: 'replacement', prompt: '  ' }))).toMatch(/prompt is empty/);
    expect(
      await refusal(f.client.computeCircuit({ set: 'replacement', prompt: PROMPT, prune: { node_threshold: 1.5 } })),
    ).toMatch(/node_threshold/);
    expect(await refusal(f.client.previewNextToken({ set: 'nope', prompt: PROMPT }))).toMatch(/nope/);
    expect(await refusal(f.client.previewNextToken({ model: 'pdlm-4l-256', prompt: 'x '.repeat(400) }))).toMatch(
      /tokens, more than pdlm-4l-256's context of 256/,
    );
    expect((await f.client.listJobs({})).jobs).toHaveLength(jobs);
  });
});
