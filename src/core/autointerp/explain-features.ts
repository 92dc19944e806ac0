// Auto-interpretation over many features of a dictionary in the store (lm-saes's interpret_features and the
// autointerp runner): each feature that fired and has no interpretation yet (or all, with overwriteExisting) is
// explained and scored, and saved at once as its interpretation — the explanation as text, the scores, prompts,
// answers and the explainer's model in `detail` — so a cancelled run keeps what it finished.
import { InputError } from '../errors';
import { resolveModel } from '../lm/load-model';
import { ModelTokenizer } from '../lm/tokenizer';
import { getDictionary, getFeature, getInterpretation, listFeatures, setInterpretation, type Store } from '../store';
import type { AutoInterpConfig } from './autointerp-config';
import type { ChatModel } from './chat-model';
import { featureExamples, type TokenText } from './feature-examples';
import { interpretFeature, type FeatureInterpretation } from './interpret-feature';
import type { PromptTemplates } from './prompts';
import { SeededRandom } from './seeded-random';

export interface ExplainProgress {
  done: number;
  total: number;
  feature: number;
  explained: number;
  skipped: number;
  failed: number;
}

export interface ExplainFeaturesJob {
  dictionary: string;
  /** Feature indices; 'all' for 0…d_sae−1. */
  features: number[] | 'all';
  explainer: ChatModel;
  config: AutoInterpConfig;
  templates: PromptTemplates;
  analysis?: string;
  onProgress?: (p: ExplainProgress) => void;
  onResult?: (index: number, r: FeatureInterpretation) => void;
  onLog?: (message: string) => void;
  signal?: AbortSignal;
}

export interface ExplainSummary {
  dictionary: string;
  explainer: { backend: string; model: string };
  total: number;
  explained: number;
  skipped: number;
  failed: number;
  seconds: number;
}

/** `0-99`, `3,5,8-9` or `all`, checked against d_sae. */
export function parseFeatureSelection(text: string, dSae: number, what = '--features'): number[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InputError(`${what} has '${part}', expected all or a list of indices and ranges like 0-99,120`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b || b >= dSae) throw new InputError(`${what} range ${part.trim()} is outside 0-${dSae - 1}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

function tokenTextOf(modelRef: string): TokenText {
  const tokenizer = ModelTokenizer.load(resolveModel(modelRef).dir);
  const cache = new Map<number, string>();
  return (id) => {
    let t = cache.get(id);
    if (t === undefined) cache.set(id, (t = tokenizer.decode([id], { skipSpecialTokens: true })));
    return t;
  };
}

export async function explainFeatures(store: Store, job: ExplainFeaturesJob): Promise<ExplainSummary> {
  const start = performance.now();
  const dict = getDictionary(store, job.dictionary);
  if (!dict.modelName)
    throw new InputError(`dictionary '${job.dictionary}' names no model, so its tokens cannot be read`);
  // An unknown analysis name is refused here, by name; no analysis at all, with the command that makes one.
  if (listFeatures(store, job.dictionary, { analysis: job.analysis, limit: 1 }).analysis === null)
    throw new InputError(
      `dictionary '${job.dictionary}' has no analysis yet, so no samples to explain from; run: sae-studio analyze --dictionary ${job.dictionary}`,
    );
  const text = tokenTextOf(dict.modelName);
  const dSae = Number((dict.config as { d_sae?: unknown }).d_sae);
  const indices = job.features === 'all' ? Array.from({ length: dSae }, (_, i) => i) : job.features;
  const cfg = job.config;
  const counts = { explained: 0, skipped: 0, failed: 0 };
  const explainer = { backend: job.explainer.backend, model: job.explainer.model };
  for (const [n, index] of indices.entries()) {
    if (job.signal?.aborted) break;
    const feature = getFeature(store, job.dictionary, index, { analysis: job.analysis });
    const existing = getInterpretation(store, job.dictionary, index);
    if (feature.stats === null || feature.stats.actCount === 0 || (existing !== null && !cfg.overwriteExisting)) {
      counts.skipped++;
    } else {
      const examples = featureExamples(feature, text, {
        nActivating: cfg.nActivatingExamples,
        nNonActivating: cfg.nNonActivatingExamples,
        maxLength: cfg.maxLength,
      });
      try {
        const rng = new SeededRandom(cfg.seed + index);
        const r = await interpretFeature(job.explainer, cfg, job.templates, examples, rng, job.signal);
        setInterpretation(store, job.dictionary, index, r.explanation, { detail: { ...r, autointerp: true } });
        job.onResult?.(index, r);
        counts.explained++;
      } catch (err) {
        if (job.signal?.aborted) break;
        counts.failed++;
        job.onLog?.(`feature ${index}: ${(err as Error).message}`);
      }
    }
    job.onProgress?.({ done: n + 1, total: indices.length, feature: index, ...counts });
  }
  return {
    dictionary: job.dictionary,
    explainer,
    total: indices.length,
    ...counts,
    seconds: (performance.now() - start) / 1000,
  };
}
