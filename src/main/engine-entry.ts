/**
 * Process entry of an engine started by the desktop app (`utilityProcess.fork`, built to out/main/engine.js): runs
 * one job over the utility process's parent port, then exits.
 */
import { runEngine } from '../engine/job-runner';
import { electronParentPort } from '../engine/parent-port';

runEngine(electronParentPort()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`engine: internal error: ${String(err)}\n`);
    process.exit(1);
  },
);
