// An 'autointerp' job started from the app: its progress (features done of total), its end, and cancel.
import { useState } from 'react';
import type { StudioRequest } from '../../../protocol/studio-service';
import { errorText, useStudio, useStudioEvents } from '../client/studio';

export interface ExplainJobState {
  jobId: string | null;
  done: number;
  total: number | null;
  error: string | null;
  summary: string | null;
  start(request: StudioRequest<'startExplain'>): Promise<void>;
  cancel(): Promise<void>;
}

export function useExplainJob(onEnded: () => void): ExplainJobState {
  const client = useStudio();
  const [jobId, setJobId] = useState<string | null>(null);
  const [done, setDone] = useState(0);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [summary, setSummary] = useState<string | null>(null);
  useStudioEvents((e) => {
    if (e.jobId !== jobId) return;
    const m = e.message;
    if (m.type === 'progress') {
      setDone(m.done);
      setTotal(m.total);
    }
    if (m.type === 'done' && m.result.kind === 'autointerp') {
      const r = m.result;
      setSummary(
        `${r.explained} explained, ${r.skipped} skipped, ${r.failed} failed by ${r.explainer.backend}:${r.explainer.model} in ${r.seconds.toFixed(1)} s`,
      );
    }
    if (m.type === 'ended') {
      setJobId(null);
      if (m.status !== 'done') setError(m.error ?? `explaining ${m.status}`);
      onEnded();
    }
  });
  return {
    jobId,
    done,
    total,
    error,
    summary,
    async start(request) {
      setError(null);
      setSummary(null);
      setDone(0);
      setTotal(null);
      try {
        setJobId((await client.startExplain(request)).jobId);
      } catch (err) {
        setError(errorText(err));
      }
    },
    async cancel() {
      if (jobId) await client.cancelJob({ jobId });
    },
  };
}
