/**
 * The renderer's one client: a StudioClient over Electron IPC (inside the app) or HTTP + Server-Sent Events (a tab
 * served by `sae-studio serve`), handed to every page through React context, with hooks for calls and events.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useEffectEvent,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { StudioEvent } from '../../../protocol/jobs';
import { ServiceError } from '../../../protocol/service-error';
import { createStudioClient, type StudioClient, type StudioTransport } from '../../../protocol/studio-client';
import { withBusyRetry, type BusyRetryOptions, type BusyTracker } from './busy-retry';
import { httpTransport, takeSessionToken } from './http-transport';
import { ipcTransport } from './ipc-transport';

/**
 * The client of this window: IPC when the preload gave us `window.api`, else HTTP with the session token of the URL
 * (kept in this tab's sessionStorage and removed from the address bar; never a cookie).
 */
export function createWindowClient(): StudioClient | { error: string } {
  if (window.api) return clientWithBusyRetry(ipcTransport(window.api));
  const token = takeSessionToken(window.location.href, window.sessionStorage, (href) =>
    window.history.replaceState(window.history.state, '', href),
  );
  if (!token)
    return {
      error:
        'This page needs the session token: open the full URL that `sae-studio serve` printed (it ends with ?token=…).',
    };
  return clientWithBusyRetry(httpTransport(window.location.origin, token));
}

/** The tracker of calls waiting for a busy store, of each client made by clientWithBusyRetry. */
const busyTrackers = new WeakMap<StudioClient, BusyTracker>();

/** A client whose calls that find the store busy are tried again (busy-retry.ts), for useBusyWaiting to show. */
export function clientWithBusyRetry(transport: StudioTransport, options?: BusyRetryOptions): StudioClient {
  const retrying = withBusyRetry(transport, options);
  const client = createStudioClient(retrying);
  busyTrackers.set(client, retrying.busy);
  return client;
}

const noSubscription = () => () => undefined;

/** How many of this window's calls are waiting for a busy store (0 for a client without retries). */
export function useBusyWaiting(): number {
  const tracker = busyTrackers.get(useStudio());
  return useSyncExternalStore(
    tracker ? (onChange) => tracker.subscribe(onChange) : noSubscription,
    () => tracker?.waiting ?? 0,
  );
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

/** Calls `listener` for every studio event while the component is mounted (always its latest version). */
export function useStudioEvents(listener: (event: StudioEvent) => void): void {
  const client = useStudio();
  const onEvent = useEffectEvent(listener);
  useEffect(() => client.subscribe((e) => onEvent(e)), [client]);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when its dependencies change (and on reload()); the latest answer wins. `deps` are plain values
 * (strings, numbers): they are compared by their JSON. While a load is under way the last answer stays visible.
 */
export function useLoad<T>(load: (client: StudioClient) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const client = useStudio();
  const [tick, setTick] = useState(0);
  const request = `${tick}:${JSON.stringify(deps)}`;
  const [state, setState] = useState<{ request: string | null; data: T | null; error: string | null }>({
    request: null,
    data: null,
    error: null,
  });
  const run = useEffectEvent(load);
  useEffect(() => {
    let live = true;
    run(client).then(
      (data) => live && setState({ request, data, error: null }),
      (err: unknown) => live && setState((s) => ({ request, data: s.data, error: errorText(err) })),
    );
    return () => {
      live = false;
    };
  }, [client, request]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.request !== request, reload };
}

export function errorText(err: unknown): string {
  if (err instanceof ServiceError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
