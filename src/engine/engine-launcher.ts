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
