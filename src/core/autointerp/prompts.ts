// The explanation, detection and fuzzing prompts, built as lm-saes builds them (explanation_prompts.py
// generate_explanation_prompt, evaluation_prompts.py generate_detection_prompt / generate_fuzzing_prompt) from
// system-prompt templates the user may edit; the user prompts keep lm-saes's layout.
import type { AutoInterpConfig } from './autointerp-config';
import {
  LM_SAES_COT_PROMPT,
  LM_SAES_DETECTION_SYSTEM,
  LM_SAES_EXPLANATION_SYSTEM,
  LM_SAES_FUZZING_SYSTEM,
} from './lm-saes-prompts';
import { displayHighlighted, displayPlain, type TokenizedSample } from './tokenized-sample';

export interface PromptTemplates {
  /** `{cot_prompt}` becomes lm-saes's chain-of-thought steps when includeCot, else ''. */
  explanationSystem: string;
  /** `{n_examples}` becomes the number of examples shown. */
  detectionSystem: string;
  /** `{n_examples}` becomes the number of examples shown. */
  fuzzingSystem: string;
}

export const PROMPT_TEMPLATE_KEYS = ['explanationSystem', 'detectionSystem', 'fuzzingSystem'] as const;

export const DEFAULT_PROMPT_TEMPLATES: Readonly<PromptTemplates> = Object.freeze({
  explanationSystem: LM_SAES_EXPLANATION_SYSTEM,
  detectionSystem: LM_SAES_DETECTION_SYSTEM,
  fuzzingSystem: LM_SAES_FUZZING_SYSTEM,
});

export interface ChatPrompt {
  system: string;
  user: string;
}

/** Replaces `{name}` placeholders only (the templates hold literal JSON braces, left alone). */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function explanationPrompt(
  templates: PromptTemplates,
  cfg: AutoInterpConfig,
  activating: readonly TokenizedSample[],
): ChatPrompt {
  const system = fill(templates.explanationSystem, { cot_prompt: cfg.includeCot ? LM_SAES_COT_PROMPT : '' });
  let user = 'The activating documents are given below:\n\n';
  activating.slice(0, cfg.nActivatingExamples).forEach((ex, i) => {
    user += `Example ${i + 1}: ${displayHighlighted(ex, cfg.activationThreshold)}\n\n`;
  });
  return { system, user };
}

function evaluationUser(explanation: string, lines: string[]): string {
  let user = `Here is the explanation:\n\n${explanation}\n\nHere are the examples:\n\n`;
  lines.forEach((l, i) => {
    user += `Example ${i + 1}: ${l}\n`;
  });
  return user;
}

/** generate_detection_prompt: the examples in plain text. */
export function detectionPrompt(
  templates: PromptTemplates,
  explanation: string,
  examples: readonly TokenizedSample[],
): ChatPrompt {
  return {
    system: fill(templates.detectionSystem, { n_examples: String(examples.length) }),
    user: evaluationUser(explanation, examples.map(displayPlain)),
  };
}

/** generate_fuzzing_prompt: the examples with their (correct or not) highlights. */
export function fuzzingPrompt(
  templates: PromptTemplates,
  cfg: AutoInterpConfig,
  explanation: string,
  examples: readonly TokenizedSample[],
): ChatPrompt {
  return {
    system: fill(templates.fuzzingSystem, { n_examples: String(examples.length) }),
    user: evaluationUser(
      explanation,
      examples.map((e) => displayHighlighted(e, cfg.activationThreshold)),
    ),
  };
}
