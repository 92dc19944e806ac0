/**
 * Starts engine processes with `child_process.fork`: from the TypeScript sources through tsx (development and
 * tests), or from a built entry (the CLI bundle runs `sae-studio engine`). stderr is captured, not inherited, and its
 * tail is kept for crash reports.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExitRecord, stderrTail, type EngineLauncher, type EngineProcess } from './engine-launcher';

export interface NodeEngineEntry {
  /** The module `node` runs. */
  modulePath: string;
  args?: readonly string[];
  /** Node flags of the child (the parent's own, such as a test runner's, are not passed on). */
  execArgv?: readonly string[];
}

const STDERR_TAIL_BYTES = 4096;

/** `node --import tsx src/engine/main.ts`: the engine straight from its sources. */
export function sourceEngineEntry(): NodeEngineEntry {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return {
    modulePath: join(dirname(fileURLToPath(import.meta.url)), 'main.ts'),
    execArgv: ['--import', pathToFileURL(tsx).href],
  };
}

export function nodeForkLauncher(entry: NodeEngineEntry, options: { forwardStderr?: boolean } = {}): EngineLauncher {
  return {
    launch(env): EngineProcess {
      const child = fork(entry.modulePath, [...(entry.args ?? [])], {
        execArgv: [...(entry.execArgv ?? [])],
        env: { ...env },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
      const tail = stderrTail(
        child.stderr,
        STDERR_TAIL_BYTES,
        options.forwardStderr ? (c) => process.stderr.write(c) : undefined,
      );
      const exit = new ExitRecord();
      let failure = '';
      child.once('exit', (code, signal) => exit.finish({ code, signal }));
      child.once('error', (err) => {
        // A failed spawn emits 'error' without 'exit'; errors of a running child (a failed send) are not fatal.
        if (child.pid === undefined) {
          failure = `${err.message}\n`;
          exit.finish({ code: null, signal: null });
        }
      });
      return {
        get pid() {
          return child.pid;
        },
        send(message) {
          // A send to a child that is just exiting fails; its exit is reported through onExit.
          if (child.connected) child.send(message, () => {});
        },
        onMessage(listener) {
          child.on('message', listener);
        },
        onExit: (listener) => exit.onExit(listener),
        kill() {
          if (!exit.ended) child.kill('SIGKILL');
        },
        stderrTail: () => tail() + failure,
      };
    },
  };
}
