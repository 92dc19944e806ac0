// The whole auto-interpretation pipeline over a real store: a small SAE trained and analysed on pdlm-4l-256, its
// features explained and scored (1) by pdlm-4l-256 itself as the stand-in local explainer (no instruct model is
// available here: it writes nonsense, which must still be stored with its failed or low scores), and (2) by an
// OpenAI-compatible endpoint — a test server that checks the requests made and answers canned completions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  autoInterpConfig,
  DEFAULT_PROMPT_TEMPLATES,
  explainFeatures,
  LocalChatModel,
  LM_SAES_COT_PROMPT,
  OpenAiChatModel,
  type ScoreResult,
} from '../../../src/core/autointerp';
import { openStore, listFeatures, getInterpretation, type Store } from '../../../src/core/store';
import { initBackend } from '../../../src/core/tensor/backend';
import { analysedDictionary } from '../../helpers/analysed-dictionary';
import { cannedAnswer, startOpenAiTestServer, type OpenAiTestServer } from '../../helpers/openai-test-server';
import { tempHome } from '../../helpers/train-fixtures';

describe('explaining features into the store', () => {
  let store: Store;
  let live: number[];
  let server: OpenAiTestServer;

  beforeAll(async () => {
    const home = tempHome();
    analysedDictionary(home);
    store = openStore({ dir: home });
    live = listFeatures(store, 'small', { sort: 'frequency', limit: 4 }).items.map((f) => f.index);
    server = await startOpenAiTestServer(cannedAnswer);
    await initBackend('cpu');
  }, 300_000);

  afterAll(async () => {
    store?.close();
    await server?.close();
  });

  it('pdlm-4l-256 as a local explainer: every step runs and the stored interpretation names the model', async () => {
    const explainer = LocalChatModel.load('pdlm-4l-256');
    const progress: number[] = [];
    try {
      const summary = await explainFeatures(store, {
        dictionary: 'small',
        features: live.slice(0, 2),
        explainer,
        config: autoInterpConfig({ maxTokens: 4 }),
        templates: DEFAULT_PROMPT_TEMPLATES,
        onProgress: (p) => progress.push(p.done),
      });
      expect(summary).toMatchObject({
        total: 2,
        explained: 2,
        failed: 0,
        explainer: { backend: 'local', model: 'pdlm-4l-256' },
      });
    } finally {
      explainer.dispose();
    }
    expect(progress).toEqual([1, 2]);
    for (const index of live.slice(0, 2)) {
      const i = getInterpretation(store, 'small', index)!;
      expect(i.text.length).toBeGreaterThan(0);
      const d = i.detail as {
        explainer: unknown;
        evaluations: ScoreResult[];
        explanation_details: { prompt: { user: string } };
      };
      expect(d.explainer).toEqual({ backend: 'local', model: 'pdlm-4l-256' });
      expect(d.evaluations.map((e) => e.method)).toEqual(['detection', 'fuzzing']);
      // A base model of 256 tokens answers no JSON: each score is a failed one with its reason, scored 0.
      for (const e of d.evaluations) {
        expect(e.error).toMatch(/expected a JSON object with `evaluation_results`/);
        expect(e.metrics.balanced_accuracy).toBe(0);
        expect(e.passed).toBe(false);
      }
      expect(d.explanation_details.prompt.user).toMatch(
        /^The activating documents are given below:\n\nExample 1: .*<<.+>>/s,
      );
    }
  }, 300_000);

  it('an OpenAI-compatible endpoint: requests carry the model, messages, key, temperature and max_tokens', async () => {
    const explainer = new OpenAiChatModel({ baseUrl: server.baseUrl, model: 'test-model-1', apiKey: 'sk-test-123' });
    const summary = await explainFeatures(store, {
      dictionary: 'small',
      features: live.slice(2, 4),
      explainer,
      config: autoInterpConfig({ maxTokens: 300, temperature: 0.2 }),
      templates: DEFAULT_PROMPT_TEMPLATES,
    });
    expect(summary).toMatchObject({ explained: 2, failed: 0, explainer: { backend: 'openai', model: 'test-model-1' } });
    // One explanation, one detection and one fuzzing request per feature.
    expect(server.requests).toHaveLength(6);
    for (const r of server.requests) {
      expect(r.path).toBe('/v1/chat/completions');
      expect(r.headers.authorization).toBe('Bearer sk-test-123');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toMatchObject({
        model: 'test-model-1',
        temperature: 0.2,
        max_tokens: 300,
        response_format: { type: 'json_object' },
      });
      expect(r.body.messages!.map((m) => m.role)).toEqual(['system', 'user']);
    }
    const [system, user] = server.requests[0]!.body.messages!;
    expect(system!.content).toBe(
      DEFAULT_PROMPT_TEMPLATES.explanationSystem.replace('{cot_prompt}', LM_SAES_COT_PROMPT),
    );
    expect(user!.content).toMatch(/^The activating documents are given below:\n\nExample 1: .*<<.+>>/s);
    expect(server.requests[0]!.body.messages![0]!.content).toContain(
      'Step 1: List a couple activating and contextual tokens',
    );
    expect(server.requests[1]!.body.messages![1]!.content).toContain('This feature activates on common words');
    const i = getInterpretation(store, 'small', live[2]!)!;
    expect(i.text).toBe('This feature activates on common words');
    const d = i.detail as { complexity: number; consistency: number; evaluations: ScoreResult[]; explainer: unknown };
    expect(d).toMatchObject({ complexity: 2, consistency: 4, explainer: { backend: 'openai', model: 'test-model-1' } });
    // Always-true answers: detection recall 1 and balanced accuracy 0.5, as the definitions give.
    const det = d.evaluations.find((e) => e.method === 'detection')!;
    expect(det.error).toBeNull();
    expect(det.metrics.recall).toBe(1);
    expect(det.metrics.balanced_accuracy).toBe(0.5);
    expect(JSON.stringify(i)).not.toContain('sk-test-123');
  }, 120_000);

  it(
    'features already explained are skipped unless overwriting; an endpoint error is a failed feature, key not shown',
    () => skipsAndFailures(store, live[2]!),
    60_000,
  );

  it('refuses an analysis the dictionary does not have, by name', () => unknownAnalysis(store, live[0]!));
});

/** The analysis named must exist; the error names it and what there is. */
async function unknownAnalysis(store: Store, index: number): Promise<void> {
  await expect(
    explainFeatures(store, {
      dictionary: 'small',
      features: [index],
      explainer: new OpenAiChatModel({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKey: null }),
      config: autoInterpConfig(),
      templates: DEFAULT_PROMPT_TEMPLATES,
      analysis: 'nope',
    }),
  ).rejects.toThrow(/^dictionary 'small' has no analysis named 'nope' \(it has: default\)$/);
}

/** Skips an explained feature, then, overwriting, fails on a 401 without showing the key. */
async function skipsAndFailures(store: Store, index: number): Promise<void> {
  const failing = await startOpenAiTestServer(() => ({
    status: 401,
    body: '{"error":{"message":"bad key sk-secret-9"}}',
  }));
  try {
    const explainer = new OpenAiChatModel({ baseUrl: failing.baseUrl, model: 'm', apiKey: 'sk-secret-9' });
    const logs: string[] = [];
    const base = {
      dictionary: 'small',
      explainer,
      templates: DEFAULT_PROMPT_TEMPLATES,
      onLog: (m: string) => logs.push(m),
    };
    const skipped = await explainFeatures(store, { ...base, features: [index], config: autoInterpConfig() });
    expect(skipped).toMatchObject({ skipped: 1, explained: 0, failed: 0 });
    expect(failing.requests).toHaveLength(0);
    const r = await explainFeatures(store, {
      ...base,
      features: [index],
      config: autoInterpConfig({ overwriteExisting: true }),
    });
    expect(r).toMatchObject({ failed: 1, explained: 0 });
    expect(logs[0]).toMatch(/HTTP 401/);
    expect(logs.join('\n')).not.toContain('sk-secret-9');
  } finally {
    await failing.close();
  }
}
