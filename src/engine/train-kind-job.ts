/**
 * A training job of a dictionary kind other than `sae` (crosscoder, clt, lorsa, molt): trainKindDictionary's events
 * as job-protocol messages — the same ones an SAE run sends, so the supervisor records metrics, the dictionary (with
 * its sae_type) and the final status alike — and cancellation through its signal. A cancelled run checkpoints and
 * resumes as an SAE run does (src/core/dictionary/kind-checkpoint.ts).
 */
import type { TrainConfig } from '../protocol/run-config';
import { trainKindDictionary } from '../core/dictionary/train-kind';
import type { KindEvalResult } from '../core/dictionary/evaluate-kind';
import type { StudioHome } from '../core/home';
import type { TrainEvent } from '../core/sae/trainer';
import type { EngineMessage, JobResult } from '../protocol/job-protocol';
import { toMetricValues } from '../protocol/metric-values';
import { trainMessages } from './train-messages';

export async function runKindTrainJob(
  cfg: TrainConfig,
  runId: string,
  resume: boolean,
  home: StudioHome,
  emit: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<JobResult> {
  let totalSteps = 0;
  const onEvent = (e: TrainEvent) => {
    for (const m of trainMessages(e, totalSteps)) emit(m);
    if (e.type === 'started') totalSteps = e.totalSteps;
    // The kind trainer saves and evaluates after its last step without events of its own: say so.
    if (e.type === 'metrics' && e.metrics.step === totalSteps && cfg.eval_windows > 0)
      emit({ type: 'progress', phase: 'evaluating', done: 0, total: null, unit: 'windows' });
  };
  const r = await trainKindDictionary(cfg, { home, runId, resume, onEvent, signal });
  return {
    kind: 'train',
    cancelled: r.cancelled,
    steps: r.steps,
    tokens: r.tokens,
    seconds: r.seconds,
    dictionary: r.dictionaryDir
      ? { name: cfg.name, path: r.dictionaryDir, modelName: cfg.model, config: { ...r.config } }
      : null,
    evaluation: r.evaluation ? toMetricValues(kindEvaluationMetrics(r.evaluation)) : null,
  };
}

/**
 * The evaluation as the store's named numbers: the SAE's names for the kind-wide values (explained_variance, l0,
 * mse, dead_fraction, ce_*), and `explained_variance.<i>` / `l0.<i>` for each head (crosscoder) or layer (CLT).
 */
export function kindEvaluationMetrics(ev: KindEvalResult): Record<string, number> {
  const out: Record<string, number> = {
    tokens: ev.tokens,
    explained_variance: ev.explained_variance,
    l0: ev.l0,
    mse: ev.mse,
    dead_fraction: ev.dead_fraction,
    ce_orig: ev.ce_orig,
    ce_with_dictionary: ev.ce_with_dictionary,
    ce_zero_ablation: ev.ce_zero_ablation,
    ce_loss_recovered: ev.ce_loss_recovered,
  };
  if (ev.explained_variance_per_axis.length > 1)
    ev.explained_variance_per_axis.forEach((v, i) => (out[`explained_variance.${i}`] = v));
  if (ev.l0_per_axis.length > 1) ev.l0_per_axis.forEach((v, i) => (out[`l0.${i}`] = v));
  return out;
}
