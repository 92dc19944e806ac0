// The detection and fuzzing scorers against hand-made cases, with lm-saes's definitions
// (feature_interpreter.py evaluate_explanation_detection / _fuzzing): a perfect answerer scores 1 on every metric,
// a coin scores 0.5 balanced accuracy on average, always-yes scores what the formulas give for it, and an
// unreadable answer is a failed score, not a crash.
import { describe, expect, it } from 'vitest';
import {
  autoInterpConfig,
  binaryMetrics,
  detectionTrial,
  fuzzingTrial,
  incorrectlyMarked,
  runTrial,
  SeededRandom,
  DEFAULT_PROMPT_TEMPLATES,
  type TokenizedSample,
} from '../../../src/core/autointerp';
import { evaluationAnswer, exampleLines, ScriptedChatModel } from './scripted-chat-model';

const MAX = 10;
const words = ['the', ' cat', ' sat', ' on', ' a', ' red', ' mat', ' and', ' then', ' slept', ' all', ' day'];

/** Activating samples: " apple" at one position with the maximum activation, everything else silent. */
function activating(i: number): TokenizedSample {
  const segs = words.map((w) => ({ text: w, activation: 0 }));
  segs.splice(2 + (i % 8), 0, { text: ' apple', activation: MAX * (0.8 + 0.02 * (i % 5)) });
  return { segments: segs.map((s, k) => ({ ...s, text: k === 0 ? `${i}:${s.text}` : s.text })), maxActivation: MAX };
}

function nonActivating(i: number): TokenizedSample {
  return { segments: words.map((w, k) => ({ text: k === 0 ? `${i}:${w}` : w, activation: 0 })), maxActivation: MAX };
}

const ACT = Array.from({ length: 7 }, (_, i) => activating(i));
const NON = Array.from({ length: 20 }, (_, i) => nonActivating(100 + i));
const cfg = autoInterpConfig();
const T = DEFAULT_PROMPT_TEMPLATES;

/** Reads the examples as a perfect language model would: activating iff " apple" is there / is what is marked. */
const oracle = new ScriptedChatModel('oracle', (system, user) => {
  const lines = exampleLines(user);
  if (system.includes('CORRECTLY'))
    return evaluationAnswer(lines.map((l) => [...l.matchAll(/<<(.*?)>>/g)].every((m) => m[1] === ' apple')));
  return evaluationAnswer(lines.map((l) => l.includes(' apple')));
});

describe('binary metrics as lm-saes computes them', () => {
  it('matches hand-counted values and is 0 where a denominator is 0', () => {
    // tp 2, fn 1, fp 1, tn 4
    const gt = [true, true, true, false, false, false, false, false];
    const pr = [true, true, false, true, false, false, false, false];
    const m = binaryMetrics(gt, pr);
    expect(m.accuracy).toBeCloseTo(6 / 8, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.balanced_accuracy).toBeCloseTo((2 / 3 + 4 / 5) / 2, 12);
    const none = binaryMetrics([false, false], [false, false]);
    expect(none).toEqual({ accuracy: 1, precision: 0, recall: 0, f1: 0, balanced_accuracy: 0.5 });
  });
});

describe('detection', () => {
  it('shows detection_n_examples of each kind, shuffled, in plain text', () => {
    const t = detectionTrial(cfg, T, 'apples', ACT, NON, new SeededRandom(1))!;
    expect(t.examples).toHaveLength(10);
    expect(t.groundTruth.filter(Boolean)).toHaveLength(5);
    expect(t.groundTruth.slice(0, 5).every(Boolean)).toBe(false);
    expect(t.prompt.system).toContain('be shown 10 example sequences');
    expect(t.prompt.user.startsWith('Here is the explanation:\n\napples\n\nHere are the examples:\n\n')).toBe(true);
    expect(t.prompt.user).not.toContain('<<');
  });

  it('a perfect answerer scores 1 on every metric and passes', async () => {
    const r = await runTrial('detection', detectionTrial(cfg, T, 'apples', ACT, NON, new SeededRandom(2)), oracle, cfg);
    expect(r.error).toBeNull();
    expect(r.metrics).toEqual({ accuracy: 1, precision: 1, recall: 1, f1: 1, balanced_accuracy: 1 });
    expect(r.passed).toBe(true);
  });

  it('always-yes: accuracy 0.5, precision 0.5, recall 1, F1 2/3, balanced accuracy 0.5, not passed', async () => {
    const yes = new ScriptedChatModel('yes', (_s, u) => evaluationAnswer(exampleLines(u).map(() => true)));
    const r = await runTrial('detection', detectionTrial(cfg, T, 'x', ACT, NON, new SeededRandom(3)), yes, cfg);
    expect(r.metrics.accuracy).toBe(0.5);
    expect(r.metrics.precision).toBe(0.5);
    expect(r.metrics.recall).toBe(1);
    expect(r.metrics.f1).toBeCloseTo(2 / 3, 12);
    expect(r.metrics.balanced_accuracy).toBe(0.5);
    expect(r.passed).toBe(false);
  });

  it('a coin scores 0.5 balanced accuracy on average over 400 seeded trials', async () => {
    const coinRng = new SeededRandom(99);
    const coin = new ScriptedChatModel('coin', (_s, u) => evaluationAnswer(exampleLines(u).map(() => coinRng.bool())));
    let sum = 0;
    const n = 400;
    for (let s = 0; s < n; s++)
      sum += (await runTrial('detection', detectionTrial(cfg, T, 'x', ACT, NON, new SeededRandom(s)), coin, cfg))
        .metrics.balanced_accuracy;
    // Each trial's balanced accuracy has a standard deviation of about 0.16; the mean of 400, about 0.008.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.04);
  });

  it('too few examples give lm-saes zero scores with the reason, without asking the model', async () => {
    const before = oracle.calls.length;
    const r = await runTrial(
      'detection',
      detectionTrial(cfg, T, 'x', ACT.slice(0, 2), NON.slice(0, 2), new SeededRandom(0)),
      oracle,
      cfg,
    );
    expect(r.metrics.balanced_accuracy).toBe(0);
    expect(r.error).toBe('too few examples for detection');
    expect(oracle.calls.length).toBe(before);
  });

  it('an unreadable answer is a failed score with a one-line reason', async () => {
    const chatter = new ScriptedChatModel('chatter', () => 'I think examples 1 and 3 look activating to me.');
    const r = await runTrial('detection', detectionTrial(cfg, T, 'x', ACT, NON, new SeededRandom(4)), chatter, cfg);
    expect(r.passed).toBe(false);
    expect(r.metrics.balanced_accuracy).toBe(0);
    expect(r.error).toMatch(/expected a JSON object with `evaluation_results`, an array of 10 booleans/);
    expect(r.error).not.toContain('\n');
  });
});

describe('fuzzing', () => {
  it('marks max(3, n_highlighted) tokens below the threshold instead of the activating ones', () => {
    const wrong = incorrectlyMarked(ACT[0]!, 0.7, new SeededRandom(5));
    const marked = wrong.segments.filter((s) => s.activation > 0.7 * MAX);
    expect(marked).toHaveLength(3);
    expect(marked.some((s) => s.text === ' apple')).toBe(false);
  });

  it('shows 5 correctly and 2 incorrectly marked examples, highlighted with << >>', () => {
    const t = fuzzingTrial(cfg, T, 'apples', ACT, new SeededRandom(6))!;
    expect(t.examples).toHaveLength(7);
    expect(t.groundTruth.filter(Boolean)).toHaveLength(5);
    expect(t.prompt.system).toContain('be shown 7 example sequences');
    expect(exampleLines(t.prompt.user).every((l) => l.includes('<<'))).toBe(true);
  });

  it('a perfect answerer scores 1 and passes; always-yes scores accuracy 5/7, F1 5/6, balanced accuracy 0.5', async () => {
    const perfect = await runTrial('fuzzing', fuzzingTrial(cfg, T, 'apples', ACT, new SeededRandom(7)), oracle, cfg);
    expect(perfect.metrics).toEqual({ accuracy: 1, precision: 1, recall: 1, f1: 1, balanced_accuracy: 1 });
    expect(perfect.passed).toBe(true);
    const yes = new ScriptedChatModel('yes', (_s, u) => evaluationAnswer(exampleLines(u).map(() => true)));
    const r = await runTrial('fuzzing', fuzzingTrial(cfg, T, 'x', ACT, new SeededRandom(8)), yes, cfg);
    expect(r.metrics.accuracy).toBeCloseTo(5 / 7, 12);
    expect(r.metrics.precision).toBeCloseTo(5 / 7, 12);
    expect(r.metrics.recall).toBe(1);
    expect(r.metrics.f1).toBeCloseTo(5 / 6, 12);
    expect(r.metrics.balanced_accuracy).toBe(0.5);
  });

  it('a coin scores 0.5 balanced accuracy on average over 400 seeded trials', async () => {
    const coinRng = new SeededRandom(77);
    const coin = new ScriptedChatModel('coin', (_s, u) => evaluationAnswer(exampleLines(u).map(() => coinRng.bool())));
    let sum = 0;
    for (let s = 0; s < 400; s++)
      sum += (await runTrial('fuzzing', fuzzingTrial(cfg, T, 'x', ACT, new SeededRandom(s)), coin, cfg)).metrics
        .balanced_accuracy;
    expect(Math.abs(sum / 400 - 0.5)).toBeLessThan(0.04);
  });

  it('fewer activating examples than fuzzing_n_examples: no trial', () => {
    expect(fuzzingTrial(cfg, T, 'x', ACT.slice(0, 4), new SeededRandom(0))).toBeNull();
  });
});
