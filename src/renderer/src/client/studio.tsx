/**
 * The renderer's one client: a StudioClient over Electron IPC (inside the app) or HTTP + Server-Sent Events (a tab
 * served by `sae-studio serve`), handed to every page through React context, with hooks for calls and events.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { StudioEvent } from '../../../protocol/jobs';
import { ServiceError } from '../../../protocol/service-error';
import { createStudioClient, type StudioClient } from '../../../protocol/studio-client';
import { httpTransport, sessionTokenFromUrl } from './http-transport';
import { ipcTransport } from './ipc-transport';

/** The client of this window: IPC when the preload gave us `window.api`, else HTTP with the URL's session token. */
export function createWindowClient(): StudioClient | { error: string } {
  if (window.api) return createStudioClient(ipcTransport(window.api));
  const token = sessionTokenFromUrl(window.location.href);
  if (!token) return { error: 'This page needs the session token: open the full URL that `sae-studio serve` printed (it ends with ?token=…).' };
  return createStudioClient(httpTransport(window.location.origin, token));
}

const StudioContext = createContext<StudioClient | null>(null);

export function StudioProvider({ client, children }: { client: StudioClient; children: ReactNode }) {
  return <StudioContext.Provider value={client}>{children}</StudioContext.Provider>;
}

export function useStudio(): StudioClient {
  const client = useContext(StudioContext);
  if (!client) throw new Error('useStudio outside <StudioProvider>');
  return client;
}

/** Calls `listener` for every studio event while the component is mounted. */
export function useStudioEvents(listener: (event: StudioEvent) => void): void {
  const client = useStudio();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => client.subscribe((e) => ref.current(e)), [client]);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when its dependencies change (and on reload()); the latest answer wins. */
export function useLoad<T>(load: (client: StudioClient) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const client = useStudio();
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load(client).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (err: unknown) => live && setState((s) => ({ data: s.data, error: errorText(err), loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, tick, ...deps]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function errorText(err: unknown): string {
  if (err instanceof ServiceError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
