/**
 * An attribution job in the engine: computes, prunes and stores the graph of a prompt over a dictionary set
 * (core/circuits/attribute-job.ts), which keeps the graph's status and progress in the store's graphs table; the
 * progress also goes to the supervisor as job events. A cancel aborts the reverse passes between batches: the graph
 * is then marked 'cancelled' and the engine ends with JobCancelled.
 */
import { attributeIntoStore, type AttributeJobInput } from '../core/circuits/attribute-job';
import type { StudioHome } from '../core/home';
import { initBackend } from '../core/tensor/backend';
import type { AttributeJobSpec, EngineMessage, JobResult } from '../protocol/job-protocol';
import { JobCancelled } from './job-cancelled';

/** Progress messages at most this often (phase changes always go out). */
const PROGRESS_INTERVAL_MS = 250;

export async function runAttributeJob(
  spec: AttributeJobSpec,
  home: StudioHome,
  emit: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<JobResult> {
  const backend = await initBackend(spec.backend);
  emit({ type: 'log', message: `backend: ${backend.device}` });
  let lastPhase = '';
  let lastAt = 0;
  try {
    const r = await attributeIntoStore({
      home,
      set: spec.set,
      prompt: spec.prompt,
      // Checked again, with defaults, by attributeIntoStore.
      settings: spec.settings as AttributeJobInput['settings'],
      prune: spec.prune as AttributeJobInput['prune'],
      qk: spec.qk as AttributeJobInput['qk'],
      name: spec.name,
      signal,
      onProgress: (phase, done, total) => {
        const now = performance.now();
        if (phase === lastPhase && now - lastAt < PROGRESS_INTERVAL_MS && done < total) return;
        lastPhase = phase;
        lastAt = now;
        emit({ type: 'progress', phase, done, total, unit: 'rows' });
      },
    });
    return {
      kind: 'attribute',
      graph: r.record.name,
      nodes: r.json.nodes.length,
      links: r.json.links.length,
      seconds: r.seconds,
    };
  } catch (err) {
    if (signal.aborted) throw new JobCancelled();
    throw err;
  }
}
