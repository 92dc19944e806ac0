/**
 * The object the preload exposes to the renderer as `window.api`. Built from plain data (the renderer's argv) and
 * free of Electron and Node imports, so the renderer's tsconfig can type `window.api` from it. IPC channels, once
 * there are any, are named `sae:<service>:<method>`; raw `ipcRenderer` is never handed out.
 */
import { APP_VERSION_SWITCH } from '../protocol/renderer-args';

export function createApi(argv: readonly string[]) {
  return { version: switchValue(argv, APP_VERSION_SWITCH) };
}

export type Api = ReturnType<typeof createApi>;

function switchValue(argv: readonly string[], name: string): string {
  const prefix = `${name}=`;
  const arg = argv.find((a) => a.startsWith(prefix));
  if (arg === undefined) throw new Error(`preload: main did not pass ${name} in additionalArguments`);
  return arg.slice(prefix.length);
}
