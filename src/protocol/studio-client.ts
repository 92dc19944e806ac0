/**
 * The client half: a transport carries a call (method + request) to a dispatcher and brings back its CallResult, and
 * carries the studio's events the other way. `createStudioClient` turns any transport into a typed StudioService
 * whose methods reject with a ServiceError. Electron IPC, HTTP + Server-Sent Events and the in-memory pair used in
 * tests are three transports of the same contract.
 */
import { dispatchStudioCall, type DispatchOptions } from './service-dispatch';
import { CallResultSchema, ServiceError, type CallResult } from './service-error';
import {
  STUDIO_METHOD_NAMES,
  STUDIO_METHODS,
  type StudioMethod,
  type StudioService,
  type StudioServiceImpl,
} from './studio-service';
import type { StudioEvent } from './jobs';

export interface StudioTransport {
  call(method: StudioMethod, request: unknown): Promise<CallResult>;
  /** Starts delivering events; returns the function that stops it. */
  subscribe(listener: (event: StudioEvent) => void): () => void;
}

/** Where a server side's events come from (the supervisor). */
export interface StudioEventSource {
  subscribe(listener: (event: StudioEvent) => void): () => void;
}

export type StudioClient = StudioService & { subscribe: StudioTransport['subscribe'] };

export function createStudioClient(transport: StudioTransport): StudioClient {
  const client: Partial<Record<StudioMethod, (request: unknown) => Promise<unknown>>> = {};
  for (const name of STUDIO_METHOD_NAMES) {
    client[name] = async (request: unknown) => {
      const outcome = CallResultSchema.parse(await transport.call(name, request ?? {}));
      if (!outcome.ok) throw new ServiceError(outcome.error);
      return STUDIO_METHODS[name].response.parse(outcome.result);
    };
  }
  return { ...(client as StudioService), subscribe: (listener) => transport.subscribe(listener) };
}

/**
 * A transport that calls the dispatcher in the same process, with every request, result and event passed through
 * JSON as HTTP would: what works over it works over the wire.
 */
export function createInMemoryTransport(
  impl: StudioServiceImpl,
  events: StudioEventSource,
  options: DispatchOptions = {},
): StudioTransport {
  const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));
  return {
    call: async (method, request) => wire(await dispatchStudioCall(impl, method, wire(request), options)),
    subscribe: (listener) => events.subscribe((event) => listener(wire(event))),
  };
}
