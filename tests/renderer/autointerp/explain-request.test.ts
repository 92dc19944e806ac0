// The app's Explain forms: the startExplain request they send (the key only for an endpoint, and only when typed;
// the request must pass the protocol's schema), and how a stored auto-interpretation's detail is read for display
// (a hand-written interpretation has none).
import { describe, expect, it } from 'vitest';
import { StartExplainRequestSchema } from '../../../src/protocol/autointerp';
import { autointerpView } from '../../../src/renderer/src/autointerp/autointerp-detail';
import { explainRequest, explainerSettings } from '../../../src/renderer/src/autointerp/explainer-settings';

describe('the startExplain request', () => {
  it('a local explainer sends its model folder and no key', () => {
    const r = explainRequest('small', '0-9', { ...explainerSettings(), backend: 'local', apiKey: 'sk-x' }, false);
    expect(r.explainer).toEqual({ backend: 'local', model: 'pdlm-4l-256' });
    expect('apiKey' in r).toBe(false);
    expect(StartExplainRequestSchema.safeParse(r).success).toBe(true);
  });

  it('an endpoint sends base URL, model and the typed key', () => {
    const s = { ...explainerSettings(), backend: 'openai' as const, baseUrl: 'http://127.0.0.1:8000/v1', model: 'q' };
    expect(explainRequest('small', 'all', s, true)).toMatchObject({
      explainer: { backend: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'q' },
      settings: { overwriteExisting: true },
    });
    expect('apiKey' in explainRequest('small', 'all', s, true)).toBe(false);
    const withKey = explainRequest('small', 'all', { ...s, apiKey: 'sk-typed' }, true);
    expect(withKey.apiKey).toBe('sk-typed');
    expect(StartExplainRequestSchema.safeParse(withKey).success).toBe(true);
  });
});

describe('reading a stored auto-interpretation', () => {
  it('takes the explainer, scores, prompts and answers; null for a hand-written one', () => {
    expect(autointerpView(null)).toBeNull();
    expect(autointerpView({ note: 'mine' })).toBeNull();
    const v = autointerpView({
      explainer: { backend: 'openai', model: 'm' },
      complexity: 2,
      consistency: 4,
      passed: true,
      explanation_details: { prompt: { system: 'S', user: 'U' }, response: '{"final_explanation": "x"}' },
      evaluations: [
        {
          method: 'detection',
          metrics: { accuracy: 1, balanced_accuracy: 1 },
          passed: true,
          error: null,
          prompt: { system: 'DS', user: 'DU' },
          response: 'r',
        },
        { method: 'fuzzing', metrics: {}, passed: false, error: 'too few examples for fuzzing', prompt: null },
      ],
    })!;
    expect(v.explainer).toEqual({ backend: 'openai', model: 'm' });
    expect([v.complexity, v.consistency, v.passed]).toEqual([2, 4, true]);
    expect(v.prompt).toEqual({ system: 'S', user: 'U' });
    expect(v.evaluations.map((e) => [e.method, e.metrics.balanced_accuracy ?? null, e.error])).toEqual([
      ['detection', 1, null],
      ['fuzzing', null, 'too few examples for fuzzing'],
    ]);
  });
});
