// The training commands' side of the one history: the trainer's events both to the terminal and to the store's
// run, the evaluation after an `sae` run (as the app's train job does it when eval_windows > 0), and what the run's
// record ends with — the dictionary and its evaluation.
import type { TrainConfig } from '../protocol/run-config';
import type { KindTrainResult } from '../core/dictionary/train-kind';
import type { StudioHome } from '../core/home';
import { evaluateTrainedDictionary, evaluationMetrics } from '../core/sae/evaluate-run';
import { trainDictionary, type TrainEvent, type TrainResult } from '../core/sae/trainer';
import { kindEvaluationMetrics } from '../engine/train-kind-job';
import type { CliRun, CliRunOutcome } from './record-run';
import { runTrainingWithProgress } from './train-progress';

/** One event handler that feeds the run's record and then the terminal's. */
export function tee(run: CliRun, terminal: (e: TrainEvent) => void): (e: TrainEvent) => void {
  return (e) => {
    run.onTrainEvent(e);
    terminal(e);
  };
}

export type EvaluatedTrainResult = TrainResult & { evaluation: Record<string, number> | null };

/** An `sae` run with the terminal's progress, then its evaluation on held-out windows when eval_windows > 0. */
export async function trainAndEvaluate(
  cfg: TrainConfig,
  home: StudioHome,
  runId: string,
  resume: boolean,
  run: CliRun,
): Promise<EvaluatedTrainResult> {
  const r = await runTrainingWithProgress((onEvent, signal) =>
    trainDictionary(cfg, { home, runId, resume, onEvent: tee(run, onEvent), signal }),
  );
  if (!r.dictionaryDir || r.cancelled || cfg.eval_windows <= 0) return { ...r, evaluation: null };
  const ev = await evaluateTrainedDictionary(cfg, r.dictionaryDir, home, {
    windows: cfg.eval_windows,
    onLog: (m) => run.log(m),
  });
  const f = (v: number) => v.toFixed(4);
  run.log(
    `evaluation on ${ev.windows}: explained variance ${f(ev.result.explained_variance)}, L0 ${ev.result.l0.toFixed(2)}, CE loss recovered ${f(ev.result.ce_loss_recovered)}`,
  );
  return { ...r, evaluation: evaluationMetrics(ev.result) };
}

export function saeRunOutcome(cfg: TrainConfig, r: EvaluatedTrainResult): CliRunOutcome {
  return {
    cancelled: r.cancelled,
    dictionary: r.dictionaryDir
      ? { name: cfg.name, path: r.dictionaryDir, modelName: cfg.model, config: { ...r.sae } }
      : null,
    evaluation: r.evaluation,
  };
}

export function kindRunOutcome(cfg: TrainConfig, r: KindTrainResult): CliRunOutcome {
  return {
    cancelled: r.cancelled,
    dictionary: r.dictionaryDir
      ? { name: cfg.name, path: r.dictionaryDir, modelName: cfg.model, config: { ...r.config } }
      : null,
    evaluation: r.evaluation ? kindEvaluationMetrics(r.evaluation) : null,
  };
}
