/** The store's records as the protocol shows them: dictionaries and runs (with whether a run can be resumed). */
import type { StudioHome } from '../core/home';
import type { Dictionary, Run } from '../core/store';
import type { DictionarySummary } from '../protocol/dictionaries';
import { toMetricValues } from '../protocol/metric-values';
import type { RunSummary } from '../protocol/runs';
import { hasCompleteCheckpoint } from './run-checkpoints';

export function dictionarySummary(d: Dictionary): DictionarySummary {
  const text = (key: string) => (typeof d.config[key] === 'string' ? (d.config[key] as string) : null);
  // The kinds with several hooks (a crosscoder's hook_points, a CLT's hook_points_in/out): first … last (count).
  const hooks = (key: string) => {
    const v = d.config[key];
    if (!Array.isArray(v) || v.length === 0) return null;
    return v.length > 2 ? `${String(v[0])} … ${String(v[v.length - 1])} (${v.length})` : v.map(String).join(', ');
  };
  return {
    name: d.name,
    series: d.series,
    path: d.path,
    saeType: d.saeType,
    dSae: d.dSae,
    modelName: d.modelName,
    hookPointIn: text('hook_point_in') ?? hooks('hook_points') ?? hooks('hook_points_in'),
    hookPointOut: text('hook_point_out') ?? text('hook_point_in') ?? hooks('hook_points') ?? hooks('hook_points_out'),
    config: d.config,
    metrics: d.metrics ? toMetricValues(d.metrics) : null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export function runSummary(run: Run, active: boolean, home: StudioHome): RunSummary {
  return {
    id: run.id,
    dictionaryName: run.dictionaryName,
    status: run.status,
    error: run.error,
    startedAt: run.startedAt,
    updatedAt: run.updatedAt,
    finishedAt: run.finishedAt,
    lastStep: run.lastStep,
    checkpoints: run.checkpoints,
    active,
    resumable: !active && run.status !== 'done' && hasCompleteCheckpoint(home, run.id),
    config: run.config,
  };
}
