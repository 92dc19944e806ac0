/**
 * Calls that find the store busy are tried again. The studio answers `busy` (HTTP 503) when another process — an
 * `analyze` in a terminal, a second studio — kept the store's write lock past its own short wait; it has then changed
 * nothing, so the same call can simply be sent again. This wrapper of a transport resends it with growing pauses
 * (250 ms doubling to 4 s, for up to ~28 s), and counts the calls waiting so, for the UI's "busy, retrying" indicator;
 * only when the store stays busy for all of that does the page get the busy error (its one line), never an internal
 * error.
 */
import type { CallResult } from '../../../protocol/service-error';
import type { StudioTransport } from '../../../protocol/studio-client';

/** Pauses before each new try: 250 ms doubling, at most 4 s, ~28 s in all. */
export const BUSY_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000];

/** How many calls are waiting for a busy store now; listeners hear each change. */
export interface BusyTracker {
  readonly waiting: number;
  subscribe(listener: (waiting: number) => void): () => void;
}

export interface BusyRetryOptions {
  delaysMs?: readonly number[];
  /** The pause (tests pass their own clock). */
  sleep?: (ms: number) => Promise<void>;
}

function isBusy(result: CallResult): boolean {
  return !result.ok && result.error.code === 'busy';
}

export function withBusyRetry(
  transport: StudioTransport,
  options: BusyRetryOptions = {},
): StudioTransport & { busy: BusyTracker } {
  const delays = options.delaysMs ?? BUSY_RETRY_DELAYS_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const listeners = new Set<(waiting: number) => void>();
  let waiting = 0;
  const change = (by: number) => {
    waiting += by;
    for (const l of listeners) l(waiting);
  };
  const busy: BusyTracker = {
    get waiting() {
      return waiting;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    busy,
    subscribe: (listener) => transport.subscribe(listener),
    async call(method, request) {
      let result = await transport.call(method, request);
      if (!isBusy(result)) return result;
      change(+1);
      try {
        for (const ms of delays) {
          await sleep(ms);
          result = await transport.call(method, request);
          if (!isBusy(result)) break;
        }
        return result;
      } finally {
        change(-1);
      }
    },
  };
}
