/**
 * The engine's end of the job channel, behind a small interface so the same job runner works in a Node child
 * process (`process.send` / `process.on('message')`) and, later, in an Electron utility process (`process.parentPort`).
 */
import type { EngineMessage } from '../protocol/job-protocol';

export interface ParentPort {
  /** Resolves once the message has been handed to the channel (or at once when the parent is gone). */
  send(message: EngineMessage): Promise<void>;
  onMessage(listener: (message: unknown) => void): void;
  /** The parent went away: its end of the channel closed. */
  onDisconnect(listener: () => void): void;
}

/** The port of a process started with `child_process.fork` (Node IPC). */
export function nodeParentPort(): ParentPort {
  const send = process.send?.bind(process);
  if (!send) throw new Error('the engine must be started by a supervisor over Node IPC (child_process.fork)');
  return {
    send: (message) =>
      new Promise((resolve) => {
        if (!process.connected) return resolve();
        try {
          send(message, undefined, {}, () => resolve());
        } catch {
          resolve(); // the channel closed between the check and the send: nobody is listening any more
        }
      }),
    onMessage: (listener) => {
      process.on('message', listener);
    },
    onDisconnect: (listener) => {
      process.on('disconnect', listener);
    },
  };
}

/** Electron's `process.parentPort` in a utility process (typed here so the engine needs no Electron import). */
interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

/** Whether this process is an Electron utility process started with `utilityProcess.fork`. */
export function hasElectronParentPort(): boolean {
  return (process as { parentPort?: unknown }).parentPort !== undefined;
}

/**
 * The port of an Electron utility process. A utility process lives only as long as its parent, so there is no
 * disconnect to watch for: when the app quits, the process ends with it (the supervisor cancels jobs first).
 */
export function electronParentPort(): ParentPort {
  const port = (process as { parentPort?: ElectronParentPort }).parentPort;
  if (!port) throw new Error('the engine must be started by the app with utilityProcess.fork');
  return {
    send: async (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', (e) => listener(e.data)),
    onDisconnect: () => {},
  };
}
