// One feature's auto-interpretation as lm-saes's FeatureInterpreter.interpret_single_feature does it: an
// explanation from the activating examples (generate_explanation), then each configured scorer on it; the
// explanation passes when any scorer passes.
import type { AutoInterpConfig } from './autointerp-config';
import type { ChatModel } from './chat-model';
import { parseExplanation, type ParsedExplanation } from './parse-response';
import { explanationPrompt, type ChatPrompt, type PromptTemplates } from './prompts';
import { detectionTrial, fuzzingTrial, runTrial, type ScoreResult } from './scorers';
import type { SeededRandom } from './seeded-random';
import type { TokenizedSample } from './tokenized-sample';

export interface FeatureInterpretation {
  explanation: string;
  complexity: number | null;
  consistency: number | null;
  explainer: { backend: string; model: string };
  explanation_details: { prompt: ChatPrompt; response: string; parsed: boolean; steps: string[]; seconds: number };
  evaluations: ScoreResult[];
  passed: boolean;
  seconds: number;
}

async function explain(
  model: ChatModel,
  cfg: AutoInterpConfig,
  templates: PromptTemplates,
  activating: readonly TokenizedSample[],
  signal?: AbortSignal,
): Promise<{ prompt: ChatPrompt; response: string; parsed: ParsedExplanation; seconds: number }> {
  const prompt = explanationPrompt(templates, cfg, activating);
  const start = performance.now();
  const response = await model.complete(
    [
      { role: 'system', content: prompt.system },
      { role: 'user', content: prompt.user },
    ],
    { maxTokens: cfg.maxTokens, temperature: cfg.temperature, json: true, signal },
  );
  return { prompt, response, parsed: parseExplanation(response), seconds: (performance.now() - start) / 1000 };
}

export async function interpretFeature(
  model: ChatModel,
  cfg: AutoInterpConfig,
  templates: PromptTemplates,
  examples: { activating: readonly TokenizedSample[]; nonActivating: readonly TokenizedSample[] },
  rng: SeededRandom,
  signal?: AbortSignal,
): Promise<FeatureInterpretation> {
  const start = performance.now();
  const e = await explain(model, cfg, templates, examples.activating, signal);
  const text = e.parsed.finalExplanation;
  const evaluations: ScoreResult[] = [];
  for (const method of cfg.scorers) {
    const trial =
      method === 'detection'
        ? detectionTrial(cfg, templates, text, examples.activating, examples.nonActivating, rng)
        : fuzzingTrial(cfg, templates, text, examples.activating, rng);
    evaluations.push(await runTrial(method, trial, model, cfg, signal));
  }
  return {
    explanation: text,
    complexity: e.parsed.complexity,
    consistency: e.parsed.activationConsistency,
    explainer: { backend: model.backend, model: model.model },
    explanation_details: {
      prompt: e.prompt,
      response: e.response,
      parsed: e.parsed.parsed,
      steps: e.parsed.steps,
      seconds: e.seconds,
    },
    evaluations,
    passed: evaluations.some((r) => r.passed),
    seconds: (performance.now() - start) / 1000,
  };
}
