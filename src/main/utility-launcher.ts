/**
 * Starts engine processes as Electron utility processes (`utilityProcess.fork`): Node processes of the app itself,
 * without a window, whose stderr is captured for crash reports. Same EngineLauncher contract as the CLI's
 * `child_process.fork` launcher, so the supervisor is the same.
 */
import { utilityProcess } from 'electron';
import { ExitRecord, stderrTail, type EngineLauncher, type EngineProcess } from '../engine/engine-launcher';

const STDERR_TAIL_BYTES = 4096;

export function utilityLauncher(modulePath: string): EngineLauncher {
  return {
    launch(env): EngineProcess {
      const child = utilityProcess.fork(modulePath, [], {
        env: { ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
        serviceName: 'SAE Studio engine',
      });
      const tail = stderrTail(child.stderr, STDERR_TAIL_BYTES);
      const exit = new ExitRecord();
      child.once('exit', (code) => exit.finish({ code, signal: null }));
      return {
        get pid() {
          return child.pid;
        },
        send(message) {
          if (!exit.ended) child.postMessage(message);
        },
        onMessage(listener) {
          child.on('message', listener);
        },
        onExit: (listener) => exit.onExit(listener),
        kill() {
          if (!exit.ended) child.kill();
        },
        stderrTail: tail,
      };
    },
  };
}
