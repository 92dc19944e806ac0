// The detection and fuzzing scorers of lm-saes (feature_interpreter.py FeatureInterpreter
// .evaluate_explanation_detection, ._create_incorrectly_marked_example, .evaluate_explanation_fuzzing): the
// examples they pick, the prompt, the answer read back, and the scores. Detection shows a shuffled mix of up to
// detection_n_examples activating and as many non-activating examples in plain text and asks which activate;
// fuzzing shows fuzzing_decile_correct activating examples with their true highlights and fuzzing_decile_incorrect
// with random non-activating tokens highlighted instead, and asks which are correctly marked.
import type { AutoInterpConfig, ScorerType } from './autointerp-config';
import { binaryMetrics, PASS_BALANCED_ACCURACY, ZERO_METRICS, type BinaryMetrics } from './binary-metrics';
import type { ChatModel } from './chat-model';
import { parseEvaluation } from './parse-response';
import { detectionPrompt, fuzzingPrompt, type ChatPrompt, type PromptTemplates } from './prompts';
import type { SeededRandom } from './seeded-random';
import type { TokenizedSample } from './tokenized-sample';

export interface ScorerTrial {
  method: ScorerType;
  examples: TokenizedSample[];
  groundTruth: boolean[];
  prompt: ChatPrompt;
}

export interface ScoreResult {
  method: ScorerType;
  prompt: ChatPrompt | null;
  response: string;
  ground_truth: boolean[];
  predictions: boolean[];
  metrics: BinaryMetrics;
  passed: boolean;
  /** Why no score came out (too few examples, an unreadable answer, a failed request); null when scored. */
  error: string | null;
  seconds: number;
}

/** The examples and prompt of a detection trial, or null with too few examples (lm-saes then scores 0). */
export function detectionTrial(
  cfg: AutoInterpConfig,
  templates: PromptTemplates,
  explanation: string,
  activating: readonly TokenizedSample[],
  nonActivating: readonly TokenizedSample[],
  rng: SeededRandom,
): ScorerTrial | null {
  const act = rng.sample(activating, Math.min(cfg.detectionNExamples, activating.length));
  const non = rng.sample(nonActivating, Math.min(cfg.detectionNExamples, nonActivating.length));
  const all = [...act, ...non];
  if (all.length < cfg.detectionNExamples) return null;
  rng.shuffle(all);
  const actSet = new Set(act);
  const groundTruth = all.map((e) => actSet.has(e));
  return { method: 'detection', examples: all, groundTruth, prompt: detectionPrompt(templates, explanation, all) };
}

/** _create_incorrectly_marked_example: max(3, n_highlighted) random non-activating tokens marked instead. */
export function incorrectlyMarked(sample: TokenizedSample, threshold: number, rng: SeededRandom): TokenizedSample {
  const abs = threshold * sample.maxActivation;
  const nHighlighted = sample.segments.filter((s) => s.activation > abs).length;
  const candidates = sample.segments.flatMap((s, i) => (s.activation < abs ? [i] : []));
  const chosen = new Set(rng.sample(candidates, Math.min(Math.max(3, nHighlighted), candidates.length)));
  return {
    segments: sample.segments.map((s, i) => ({ text: s.text, activation: chosen.has(i) ? sample.maxActivation : 0 })),
    maxActivation: sample.maxActivation,
  };
}

/** The examples and prompt of a fuzzing trial, or null with fewer than fuzzing_n_examples activating examples. */
export function fuzzingTrial(
  cfg: AutoInterpConfig,
  templates: PromptTemplates,
  explanation: string,
  activating: readonly TokenizedSample[],
  rng: SeededRandom,
): ScorerTrial | null {
  if (activating.length < cfg.fuzzingNExamples) return null;
  const picked = rng.sample(activating, cfg.fuzzingDecileCorrect + cfg.fuzzingDecileIncorrect);
  const correct = picked.slice(0, cfg.fuzzingDecileCorrect);
  const incorrect = picked
    .slice(cfg.fuzzingDecileCorrect)
    .map((e) => incorrectlyMarked(e, cfg.activationThreshold, rng));
  const labelled = rng.shuffle([...correct.map((e) => ({ e, ok: true })), ...incorrect.map((e) => ({ e, ok: false }))]);
  const examples = labelled.map((l) => l.e);
  return {
    method: 'fuzzing',
    examples,
    groundTruth: labelled.map((l) => l.ok),
    prompt: fuzzingPrompt(templates, cfg, explanation, examples),
  };
}

function failed(method: ScorerType, prompt: ChatPrompt | null, error: string, response = '', seconds = 0): ScoreResult {
  return {
    method,
    prompt,
    response,
    ground_truth: [],
    predictions: [],
    metrics: { ...ZERO_METRICS },
    passed: false,
    error,
    seconds,
  };
}

/** Asks the model and scores its answer; a trial that could not be built, a failed request or an unreadable answer give a failed score. */
export async function runTrial(
  method: ScorerType,
  trial: ScorerTrial | null,
  model: ChatModel,
  cfg: AutoInterpConfig,
  signal?: AbortSignal,
): Promise<ScoreResult> {
  if (!trial) return failed(method, null, `too few examples for ${method}`);
  const start = performance.now();
  let answer = '';
  try {
    answer = await model.complete(
      [
        { role: 'system', content: trial.prompt.system },
        { role: 'user', content: trial.prompt.user },
      ],
      { maxTokens: cfg.maxTokens, temperature: cfg.temperature, json: true, signal },
    );
    const predictions = parseEvaluation(answer, trial.groundTruth.length);
    const metrics = binaryMetrics(trial.groundTruth, predictions);
    return {
      method,
      prompt: trial.prompt,
      response: answer,
      ground_truth: trial.groundTruth,
      predictions,
      metrics,
      passed: metrics.balanced_accuracy >= PASS_BALANCED_ACCURACY,
      error: null,
      seconds: (performance.now() - start) / 1000,
    };
  } catch (err) {
    if (signal?.aborted) throw err;
    return failed(method, trial.prompt, (err as Error).message, answer, (performance.now() - start) / 1000);
  }
}
