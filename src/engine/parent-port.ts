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
