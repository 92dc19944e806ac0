// The job-protocol messages of the trainers' events, shared by the sae and the other kinds' training jobs.
import type { TrainEvent } from '../core/sae/trainer';
import type { EngineMessage } from '../protocol/job-protocol';
import { toMetricValues } from '../protocol/metric-values';

/** The protocol messages of one trainer event (`done` is the job's result, sent by the runner). */
export function trainMessages(e: TrainEvent, totalSteps: number): EngineMessage[] {
  switch (e.type) {
    case 'log':
      return [{ type: 'log', message: e.message }];
    case 'started': {
      const resumed = e.resumedFromStep ? `, resumed from step ${e.resumedFromStep}` : '';
      return [
        { type: 'log', message: `training ${e.totalSteps} steps (${e.totalTokens} tokens) on ${e.backend}${resumed}` },
        { type: 'progress', phase: 'training', done: e.resumedFromStep, total: e.totalSteps, unit: 'steps' },
      ];
    }
    case 'metrics': {
      const { step, tokens, ...values } = e.metrics;
      return [
        { type: 'metrics', step, tokens, values: toMetricValues(values) },
        { type: 'progress', phase: 'training', done: step, total: totalSteps, unit: 'steps' },
      ];
    }
    case 'checkpoint':
      return [{ type: 'checkpoint', step: e.step, tokens: e.tokens, path: e.dir }];
    case 'done':
      return [];
  }
}
