/**
 * An auto-interpretation job in the engine: explains and scores a dictionary's features into the store
 * (core/autointerp/explain-features.ts), one feature saved at a time, with a progress message per feature. A
 * cancel stops between features (and between generated tokens of a local explainer); what was saved stays. The
 * endpoint's key, if any, is read from this process's environment (SAE_STUDIO_OPENAI_API_KEY), set by the
 * supervisor for this job alone.
 */
import {
  autoInterpConfig,
  explainFeatures,
  loadPromptTemplates,
  OPENAI_KEY_ENV,
  openExplainer,
} from '../core/autointerp';
import type { StudioHome } from '../core/home';
import { openStore } from '../core/store';
import { initBackend } from '../core/tensor/backend';
import type { AutointerpJobSpec } from '../protocol/autointerp';
import type { EngineMessage, JobResult } from '../protocol/job-protocol';
import { JobCancelled } from './job-cancelled';

export async function runAutointerpJob(
  spec: AutointerpJobSpec,
  home: StudioHome,
  emit: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<JobResult> {
  const config = autoInterpConfig(spec.settings);
  const templates = loadPromptTemplates(home);
  if (spec.explainer.backend === 'local') {
    const backend = await initBackend(spec.backend);
    emit({ type: 'log', message: `backend: ${backend.device}` });
  }
  const explainer = openExplainer(spec.explainer, process.env[OPENAI_KEY_ENV] || null, config.seed);
  const store = openStore({ dir: home.root });
  try {
    emit({ type: 'log', message: `explaining with ${explainer.backend}:${explainer.model}` });
    const summary = await explainFeatures(store, {
      dictionary: spec.dictionary,
      features: spec.features,
      explainer,
      config,
      templates,
      signal,
      onLog: (message) => emit({ type: 'log', message }),
      onProgress: (p) =>
        emit({ type: 'progress', phase: 'explaining', done: p.done, total: p.total, unit: 'features' }),
    });
    if (signal.aborted) throw new JobCancelled();
    return { kind: 'autointerp', ...summary };
  } finally {
    explainer.dispose();
    store.close();
  }
}
