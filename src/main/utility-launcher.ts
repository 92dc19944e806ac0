/**
 * Starts engine processes as Electron utility processes (`utilityProcess.fork`): Node processes of the app itself,
 * without a window, whose stderr is captured for crash reports. Same EngineLauncher contract as the CLI's
 * `child_process.fork` launcher, so the supervisor is the same.
 */
import { utilityProcess } from 'electron';
import type { EngineExit, EngineLauncher, EngineProcess } from '../engine/engine-launcher';

const STDERR_TAIL_BYTES = 4096;

export function utilityLauncher(modulePath: string): EngineLauncher {
  return {
    launch(env): EngineProcess {
      const child = utilityProcess.fork(modulePath, [], { env: { ...env }, stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'SAE Studio engine' });
      let tail = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => (tail = (tail + chunk).slice(-STDERR_TAIL_BYTES)));
      let exited: EngineExit | null = null;
      const exitListeners: ((exit: EngineExit) => void)[] = [];
      child.once('exit', (code) => {
        exited = { code, signal: null };
        for (const l of exitListeners) l(exited);
      });
      return {
        get pid() {
          return child.pid;
        },
        send(message) {
          if (exited === null) child.postMessage(message);
        },
        onMessage(listener) {
          child.on('message', listener);
        },
        onExit(listener) {
          if (exited) listener(exited);
          else exitListeners.push(listener);
        },
        kill() {
          if (exited === null) child.kill();
        },
        stderrTail: () => tail,
      };
    },
  };
}
