/** The transport inside the Electron window: the preload's `window.api` (IPC to the main process). */
import type { StudioTransport } from '../../../protocol/studio-client';

/** The preload's API object, typed by src/preload/window-api.d.ts. */
type PreloadApi = NonNullable<Window['api']>;

export function ipcTransport(api: PreloadApi): StudioTransport {
  return {
    call: (method, request) => api.call(method, request),
    subscribe: (listener) => api.onEvent(listener),
  };
}
