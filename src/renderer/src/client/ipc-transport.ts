/** The transport inside the Electron window: the preload's `window.api` (IPC to the main process). */
import type { StudioTransport } from '../../../protocol/studio-client';
import type { Api } from '../../../preload/api';

export function ipcTransport(api: Api): StudioTransport {
  return {
    call: (method, request) => api.call(method, request),
    subscribe: (listener) => api.onEvent(listener),
  };
}
