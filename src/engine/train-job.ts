/**
 * A training job in the engine: the trainer's events as job-protocol messages, cancellation through its signal. The
 * `sae` kind trains here; the other kinds through train-kind-job.ts.
 */
import { TrainConfigSchema } from '../protocol/run-config';
import { parseConfig } from '../core/config/validate';
import { InputError } from '../core/errors';
import type { StudioHome } from '../core/home';
import { evaluateTrainedDictionary, evaluationMetrics } from '../core/sae/evaluate-run';
import { readRunConfig, trainDictionary, type TrainEvent } from '../core/sae/trainer';
import type { EngineMessage, JobResult, TrainJobSpec } from '../protocol/job-protocol';
import { toMetricValues } from '../protocol/metric-values';
import { runKindTrainJob } from './train-kind-job';
import { trainMessages } from './train-messages';

export async function runTrainJob(
  spec: TrainJobSpec,
  home: StudioHome,
  emit: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<JobResult> {
  if (!spec.resume && !spec.config) throw new InputError(`run '${spec.runId}': a new run needs its train config`);
  const raw = spec.resume ? readRunConfig(home, spec.runId) : spec.config;
  const cfg = parseConfig(TrainConfigSchema, raw, spec.resume ? `run ${spec.runId}` : 'train config');
  if (cfg.sae.sae_type !== 'sae') return runKindTrainJob(cfg, spec.runId, spec.resume, home, emit, signal);
  let totalSteps = 0;
  const onEvent = (e: TrainEvent) => {
    for (const m of trainMessages(e, totalSteps)) emit(m);
    if (e.type === 'started') totalSteps = e.totalSteps;
  };
  const r = await trainDictionary(cfg, { home, runId: spec.runId, resume: spec.resume, onEvent, signal });
  let evaluation: Record<string, number> | null = null;
  if (r.dictionaryDir && cfg.eval_windows > 0 && !signal.aborted) {
    emit({ type: 'progress', phase: 'evaluating', done: 0, total: null, unit: 'windows' });
    const ev = await evaluateTrainedDictionary(cfg, r.dictionaryDir, home, {
      windows: cfg.eval_windows,
      onLog: (message) => emit({ type: 'log', message }),
      onProgress: (phase, done, total) =>
        emit({ type: 'progress', phase: `evaluating (${phase})`, done, total, unit: 'windows' }),
    });
    evaluation = evaluationMetrics(ev.result);
    const f = (v: number) => v.toFixed(4);
    emit({
      type: 'log',
      message: `evaluation on ${ev.windows}: explained variance ${f(ev.result.explained_variance)}, L0 ${ev.result.l0.toFixed(2)}, CE loss recovered ${f(ev.result.ce_loss_recovered)}`,
    });
  }
  return {
    kind: 'train',
    cancelled: r.cancelled,
    steps: r.steps,
    tokens: r.tokens,
    seconds: r.seconds,
    dictionary: r.dictionaryDir
      ? { name: cfg.name, path: r.dictionaryDir, modelName: cfg.model, config: { ...r.sae } }
      : null,
    evaluation: evaluation ? toMetricValues(evaluation) : null,
  };
}
