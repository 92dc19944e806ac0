// Runs a training job in the terminal: a progress bar with ETA, a metrics line per log step, and Ctrl-C
// turned into a clean stop (the trainer writes a checkpoint and the run can be resumed).
import type { TrainEvent, TrainResult } from '../core/sae/trainer';
import { progressBar } from './progress';

export async function runTrainingWithProgress<R = TrainResult>(
  start: (onEvent: (e: TrainEvent) => void, signal: AbortSignal) => Promise<R>,
  opts: { quiet?: boolean } = {},
): Promise<R> {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nstopping after this step (a checkpoint will be written)…\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const bar = progressBar('training');
  let totalSteps = 0;
  const say = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };
  try {
    return await start((e) => {
      switch (e.type) {
        case 'log':
          say(e.message);
          break;
        case 'started':
          totalSteps = e.totalSteps;
          say(
            `training ${e.totalSteps} steps (${e.totalTokens.toLocaleString('en-US')} tokens) on ${e.backend}${e.resumedFromStep ? `, resumed from step ${e.resumedFromStep}` : ''}`,
          );
          break;
        case 'metrics': {
          const m = e.metrics;
          bar.update(m.step, totalSteps, 'steps');
          if (!process.stderr.isTTY) {
            say(
              `step ${m.step}/${totalSteps} loss ${m.loss.toFixed(4)} l_rec ${m.l_rec.toFixed(4)} l0 ${m.l0.toFixed(1)} ev ${m.explained_variance.toFixed(4)} dead ${m.dead} lr ${m.lr.toExponential(2)} ${m.tokens_per_second} tok/s`,
            );
          }
          break;
        }
        case 'checkpoint':
          if (!process.stderr.isTTY) say(`checkpoint: ${e.dir}`);
          break;
        case 'done':
          bar.done();
          break;
      }
    }, controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
