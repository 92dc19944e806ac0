/**
 * The engine: runs exactly one job for its supervisor. Waits for `start`, runs the training or the analysis,
 * streams its events as job-protocol messages, turns `cancel` (the message or the cancel file) or the parent going
 * away into an abort — the trainer then writes a checkpoint and stops — and ends with one `done` or one `error`.
 * Returns the exit status.
 */
import { isInputError } from '../core/errors';
import { studioHome } from '../core/home';
import {
  ParentMessageSchema,
  type EngineMessage,
  type JobResult,
  type JobSpec,
  type StartMessage,
} from '../protocol/job-protocol';
import { oneLine } from '../protocol/service-dispatch';
import { runAnalyzeJob } from './analyze-job';
import { runAttributeJob } from './attribute-job';
import { runAutointerpJob } from './autointerp-job';
import { cancelSignal } from './cancel-signal';
import { JobCancelled } from './job-cancelled';
import type { ParentPort } from './parent-port';
import { runTrainJob } from './train-job';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export async function runEngine(port: ParentPort): Promise<number> {
  const controller = new AbortController();
  const start = new Promise<StartMessage | string>((resolve) => {
    port.onMessage((raw) => {
      const parsed = ParentMessageSchema.safeParse(raw);
      if (!parsed.success)
        return resolve(
          `engine: malformed message from the supervisor (${parsed.error.issues[0]?.message ?? 'invalid'})`,
        );
      if (parsed.data.type === 'start') resolve(parsed.data);
      else controller.abort();
    });
    port.onDisconnect(() => {
      controller.abort();
      resolve('engine: the supervisor went away before starting a job');
    });
  });
  const started = await start;
  if (typeof started === 'string') {
    await port.send({ type: 'error', message: started, inputError: false });
    return EXIT_FAILED;
  }
  const { job } = started;
  const emit = (m: EngineMessage) => void port.send(m);
  try {
    const result = await runJob(job, emit, cancelSignal(controller, started.cancelFile));
    await port.send({ type: 'done', result });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof JobCancelled) {
      await port.send({ type: 'log', message: `${job.kind} cancelled` });
      return EXIT_OK;
    }
    const inputError = isInputError(err);
    await port.send({ type: 'error', message: oneLine(err), inputError });
    return inputError ? EXIT_BAD_INPUT : EXIT_FAILED;
  }
}

function runJob(job: JobSpec, emit: (m: EngineMessage) => void, signal: AbortSignal): Promise<JobResult> {
  const home = studioHome();
  switch (job.kind) {
    case 'train':
      return runTrainJob(job, home, emit, signal);
    case 'analyze':
      return runAnalyzeJob(job, home, emit, signal);
    case 'attribute':
      return runAttributeJob(job, home, emit, signal);
    case 'autointerp':
      return runAutointerpJob(job, home, emit, signal);
  }
}
