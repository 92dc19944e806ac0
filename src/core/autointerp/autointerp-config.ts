// The auto-interpretation settings, with lm-saes's names and defaults (llamascopium/analysis/autointerp/
// autointerp_base.py, AutoInterpConfig), plus the generation limits our explainers need.
import { InputError } from '../errors';

export const SCORER_TYPES = ['detection', 'fuzzing'] as const;
export type ScorerType = (typeof SCORER_TYPES)[number];

export interface AutoInterpConfig {
  /** Top-activation samples shown to the explainer and used as activating examples by the scorers (lm-saes: 7). */
  nActivatingExamples: number;
  /** Samples of the `non_activating` sampling used by detection (lm-saes: 20). */
  nNonActivatingExamples: number;
  /** Tokens above this fraction of the feature's maximum activation are highlighted with << >> (lm-saes: 0.7). */
  activationThreshold: number;
  /** Tokens kept around a sample's maximum (lm-saes: 50). */
  maxLength: number;
  scorers: ScorerType[];
  /** Activating and non-activating examples each shown by detection (lm-saes: 5). */
  detectionNExamples: number;
  /** Fewer activating examples than this skip fuzzing (lm-saes: 5). */
  fuzzingNExamples: number;
  /** Correctly marked examples in a fuzzing prompt (lm-saes: 5). */
  fuzzingDecileCorrect: number;
  /** Incorrectly marked examples in a fuzzing prompt (lm-saes: 2). */
  fuzzingDecileIncorrect: number;
  /** Ask for chain-of-thought steps in the explanation (lm-saes: true). */
  includeCot: boolean;
  /** Replace interpretations already stored (lm-saes: false). */
  overwriteExisting: boolean;
  /** Tokens the explainer may write per answer. */
  maxTokens: number;
  /** Sampling temperature of the explainer (0: greedy). */
  temperature: number;
  /** Seed of the example selection and shuffling. */
  seed: number;
}

export const DEFAULT_AUTOINTERP_CONFIG: Readonly<AutoInterpConfig> = Object.freeze({
  nActivatingExamples: 7,
  nNonActivatingExamples: 20,
  activationThreshold: 0.7,
  maxLength: 50,
  scorers: ['detection', 'fuzzing'] as ScorerType[],
  detectionNExamples: 5,
  fuzzingNExamples: 5,
  fuzzingDecileCorrect: 5,
  fuzzingDecileIncorrect: 2,
  includeCot: true,
  overwriteExisting: false,
  maxTokens: 512,
  temperature: 0,
  seed: 42,
});

/** The defaults with `overrides`, each field checked (an InputError names the field and the value). */
export function autoInterpConfig(overrides: Partial<AutoInterpConfig> = {}): AutoInterpConfig {
  const cfg: AutoInterpConfig = { ...DEFAULT_AUTOINTERP_CONFIG, ...overrides };
  const ints: (keyof AutoInterpConfig)[] = [
    'nActivatingExamples',
    'nNonActivatingExamples',
    'maxLength',
    'detectionNExamples',
    'fuzzingNExamples',
    'fuzzingDecileCorrect',
    'fuzzingDecileIncorrect',
    'maxTokens',
    'seed',
  ];
  for (const k of ints) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new InputError(`autointerp ${k} is ${String(v)}, expected a non-negative integer`);
  }
  if (!(cfg.activationThreshold >= 0 && cfg.activationThreshold <= 1))
    throw new InputError(`autointerp activationThreshold is ${cfg.activationThreshold}, expected a number in [0, 1]`);
  if (!(cfg.temperature >= 0 && cfg.temperature <= 2))
    throw new InputError(`autointerp temperature is ${cfg.temperature}, expected a number in [0, 2]`);
  for (const s of cfg.scorers)
    if (!(SCORER_TYPES as readonly string[]).includes(s))
      throw new InputError(`autointerp scorer '${String(s)}', expected one of ${SCORER_TYPES.join(', ')}`);
  return cfg;
}

/** `detection,fuzzing` → the scorer list; an InputError names the option and the bad entry. */
export function parseScorers(text: string, what: string): ScorerType[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list)
    if (!(SCORER_TYPES as readonly string[]).includes(s))
      throw new InputError(`${what} has '${s}', expected a comma-separated list of ${SCORER_TYPES.join(', ')}`);
  return list as ScorerType[];
}
