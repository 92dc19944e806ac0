/**
 * An analysis job in the engine. The analysis saves its result in one store transaction at the end, so a cancel
 * simply abandons it: nothing partial is ever visible.
 */
import { analyzeIntoStore } from '../core/analysis/analyze-to-store';
import type { StudioHome } from '../core/home';
import { initBackend } from '../core/tensor/backend';
import type { AnalyzeJobSpec, EngineMessage, JobResult } from '../protocol/job-protocol';
import { JobCancelled } from './job-cancelled';

/** Progress messages at most this often (phase changes always go out). */
const PROGRESS_INTERVAL_MS = 250;

export async function runAnalyzeJob(
  spec: AnalyzeJobSpec,
  home: StudioHome,
  emit: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<JobResult> {
  const backend = await initBackend(spec.backend);
  emit({ type: 'log', message: `backend: ${backend.device}` });
  let lastPhase = '';
  let lastAt = 0;
  const job = analyzeIntoStore(
    {
      dictionary: spec.dictionary,
      dataset: spec.dataset,
      split: spec.split,
      tokens: spec.tokens,
      model: spec.model,
      name: spec.name,
      onLog: (message) => emit({ type: 'log', message }),
      onProgress: (p) => {
        const now = performance.now();
        if (p.phase === lastPhase && now - lastAt < PROGRESS_INTERVAL_MS && p.done < p.total) return;
        lastPhase = p.phase;
        lastAt = now;
        emit({
          type: 'progress',
          phase: p.phase,
          done: p.done,
          total: p.total,
          unit: p.phase === 'activations' ? 'tokens' : 'steps',
        });
      },
    },
    home,
  );
  const r = await Promise.race([job, cancelled(signal)]);
  return {
    kind: 'analyze',
    dictionary: r.dictionaryName,
    analysis: r.saved.name,
    tokens: r.tokens,
    seconds: r.seconds,
    tokensPerSecond: r.tokensPerSecond,
  };
}

function cancelled(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new JobCancelled());
    signal.addEventListener('abort', () => reject(new JobCancelled()), { once: true });
  });
}
