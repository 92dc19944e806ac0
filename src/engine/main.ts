/**
 * Process entry of the engine (`node --import tsx src/engine/main.ts`, forked by a supervisor): runs one job over
 * Node IPC, then exits — explicitly, since the IPC channel and Dawn's handles would keep the process alive.
 */
import { runEngine } from './job-runner';
import { nodeParentPort } from './parent-port';

runEngine(nodeParentPort()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`engine: internal error: ${String(err)}\n`);
    process.exit(1);
  },
);
