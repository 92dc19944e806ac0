/**
 * The object the preload exposes to the renderer as `window.api`: the studio's one call and event channel, and the
 * native file dialogs. It is built from the renderer's argv and a minimal IPC interface, free of Electron and Node
 * imports, so the renderer's tsconfig can type `window.api` from it and tests can build it over a fake channel.
 * Raw `ipcRenderer` is never handed out.
 */
import { IPC_CALL, IPC_EVENT, IPC_PICK_FILE, IPC_PICK_FOLDER } from '../protocol/ipc-channels';
import type { StudioEvent } from '../protocol/jobs';
import { APP_VERSION_SWITCH } from '../protocol/renderer-args';
import type { CallResult } from '../protocol/service-error';

/** The part of ipcRenderer the API uses. */
export interface IpcChannel {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
}

export interface FileFilter {
  name: string;
  extensions: string[];
}

export function createApi(argv: readonly string[], ipc: IpcChannel) {
  return {
    version: switchValue(argv, APP_VERSION_SWITCH),
    /** One StudioService call; the main process validates and dispatches it. */
    call: (method: string, request: unknown) => ipc.invoke(IPC_CALL, method, request) as Promise<CallResult>,
    /** Job events; returns the function that stops them. */
    onEvent(listener: (event: StudioEvent) => void): () => void {
      const handler = (_event: unknown, payload: unknown) => listener(payload as StudioEvent);
      ipc.on(IPC_EVENT, handler);
      return () => ipc.removeListener(IPC_EVENT, handler);
    },
    /** A folder chosen in the system dialog, or null when cancelled. */
    pickFolder: (title: string) => ipc.invoke(IPC_PICK_FOLDER, title) as Promise<string | null>,
    /** A file chosen in the system dialog, or null when cancelled. */
    pickFile: (title: string, filters: FileFilter[]) =>
      ipc.invoke(IPC_PICK_FILE, title, filters) as Promise<string | null>,
  };
}

export type Api = ReturnType<typeof createApi>;

function switchValue(argv: readonly string[], name: string): string {
  const prefix = `${name}=`;
  const arg = argv.find((a) => a.startsWith(prefix));
  if (arg === undefined) throw new Error(`preload: main did not pass ${name} in additionalArguments`);
  return arg.slice(prefix.length);
}
