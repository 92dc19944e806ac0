// A run as its dashboard sees it: the stored run (status, config, log) with its metrics, kept live by the studio's
// events (metrics, progress, log lines) and read again when a job ends or an action asks for it.
import { useCallback, useEffect, useState } from 'react';
import type { DictionarySummary } from '../../../protocol/dictionaries';
import type { StudioEvent } from '../../../protocol/jobs';
import type { MetricPoint, RunSummary } from '../../../protocol/runs';
import type { StudioClient } from '../../../protocol/studio-client';
import { errorText, useStudio, useStudioEvents } from '../client/studio';

export interface JobProgress {
  phase: string;
  done: number;
  total: number | null;
  unit: string;
}

/** Where a partially drawn chart ends: the points are step-ordered, new ones appended. */
function addPoints(old: MetricPoint[], fresh: readonly MetricPoint[]): MetricPoint[] {
  const last = old.at(-1)?.step ?? -1;
  const newer = fresh.filter((p) => p.step > last);
  return newer.length === 0 ? old : [...old, ...newer];
}

/** The stored run, and once it is done the dictionary it trained (null: not in the store; undefined: not done). */
async function fetchRun(client: StudioClient, id: string) {
  const r = await client.getRun({ id });
  if (r.run.status !== 'done') return { ...r, dictionary: undefined };
  const d = await client.listDictionaries({});
  return { ...r, dictionary: d.dictionaries.find((x) => x.name === r.run.dictionaryName) ?? null };
}

/** Mount it once per run id (key the component by the id): its state belongs to that run. */
export function useRun(id: string) {
  const client = useStudio();
  const [run, setRun] = useState<RunSummary | null>(null);
  const [points, setPoints] = useState<MetricPoint[]>([]);
  const [log, setLog] = useState<string[]>([]);
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [dictionary, setDictionary] = useState<DictionarySummary | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(
    () =>
      fetchRun(client, id).then(
        (r) => {
          setRun(r.run);
          setPoints((old) => addPoints(old, r.metrics));
          setLog(r.log);
          setError(null);
          if (r.dictionary !== undefined) setDictionary(r.dictionary);
        },
        (err: unknown) => setError(errorText(err)),
      ),
    [client, id],
  );

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useStudioEvents((e: StudioEvent) => {
    if (e.runId !== id) return;
    const m = e.message;
    switch (m.type) {
      case 'metrics':
        setPoints((old) => addPoints(old, [{ step: m.step, tokens: m.tokens, values: m.values }]));
        break;
      case 'progress':
        setProgress({
          phase: e.kind === 'analyze' ? `feature analysis: ${m.phase}` : m.phase,
          done: m.done,
          total: m.total,
          unit: m.unit,
        });
        break;
      case 'log':
        setLog((l) => [...l.slice(-499), `${new Date().toISOString()} ${m.message}`]);
        break;
      case 'ended':
        setProgress(null);
        void refresh();
        break;
      default:
        break;
    }
  });

  return { run, points, log, progress, dictionary, error, refresh };
}
