/**
 * How a supervisor starts engine processes, behind a small interface: `child_process.fork` in the CLI and in tests
 * (node-fork-launcher.ts), Electron's `utilityProcess.fork` in the desktop app. The supervisor needs no more than this.
 */
import type { ParentMessage } from '../protocol/job-protocol';

export interface EngineExit {
  /** Exit status, or null when ended by a signal. */
  code: number | null;
  signal: string | null;
}

export interface EngineProcess {
  readonly pid: number | undefined;
  send(message: ParentMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the process has ended (or could not be started). */
  onExit(listener: (exit: EngineExit) => void): void;
  /** Ends the process at once (SIGKILL). */
  kill(): void;
  /** The end of what it wrote to stderr, for reporting a crash ('' when not captured). */
  stderrTail(): string;
}

export interface EngineLauncher {
  /** `env` is the whole environment of the new process (it carries SAE_STUDIO_HOME). */
  launch(env: Readonly<Record<string, string>>): EngineProcess;
}

/** Keeps the exit of an engine process: listeners added before or after it are each called once. */
export class ExitRecord {
  private exit: EngineExit | null = null;
  private readonly listeners: ((exit: EngineExit) => void)[] = [];

  get ended(): boolean {
    return this.exit !== null;
  }

  /** Records the exit (the first one wins) and tells the listeners. */
  finish(exit: EngineExit): void {
    if (this.exit) return;
    this.exit = exit;
    for (const l of this.listeners.splice(0)) l(exit);
  }

  onExit(listener: (exit: EngineExit) => void): void {
    if (this.exit) listener(this.exit);
    else this.listeners.push(listener);
  }
}

/** Keeps the last `bytes` characters a process wrote to stderr, for crash reports. */
export function stderrTail(
  stream: NodeJS.ReadableStream | null | undefined,
  bytes = 4096,
  forward?: (chunk: string) => void,
): () => string {
  let tail = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    forward?.(chunk);
    tail = (tail + chunk).slice(-bytes);
  });
  return () => tail;
}
