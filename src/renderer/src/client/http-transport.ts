/**
 * The transport of a browser tab served by `sae-studio serve`: `POST /api/<method>` with the session token as a
 * Bearer header, and the studio's job events from `GET /api/events?ticket=…` (Server-Sent Events). The token is never
 * a cookie: the page takes it from the URL `serve` printed (`?token=…`), keeps it in this tab's sessionStorage (which
 * no other origin, another port included, can read, and which is sent nowhere) and removes it from the address bar.
 * An EventSource cannot send a header, so each stream opens with a fresh single-use ticket bought with the token;
 * when the stream drops, a new ticket is bought before reconnecting.
 */
import {
  API_PREFIX,
  EVENTS_PATH,
  EVENTS_TICKET_PATH,
  EventsTicketSchema,
  JOB_EVENT,
  TICKET_QUERY,
  TOKEN_QUERY,
} from '../../../protocol/http-api';
import { StudioEventSchema, type StudioEvent } from '../../../protocol/jobs';
import type { CallResult, ServiceErrorData } from '../../../protocol/service-error';
import type { StudioTransport } from '../../../protocol/studio-client';

const STORAGE_KEY = 'sae-studio-session';
const RECONNECT_MS = 2000;

export function sessionTokenFromUrl(href: string): string | null {
  return new URL(href).searchParams.get(TOKEN_QUERY);
}

/** The URL without its `?token=`, hash kept. */
export function withoutToken(href: string): string {
  const url = new URL(href);
  url.searchParams.delete(TOKEN_QUERY);
  return url.href;
}

/** Where the page keeps the token between reloads of the same tab. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * The session token of this tab: the URL's (stored, and taken out of the address bar through `replaceUrl`), else the
 * one stored by an earlier load of this tab, else null.
 */
export function takeSessionToken(
  href: string,
  storage: TokenStorage,
  replaceUrl: (href: string) => void,
): string | null {
  const fromUrl = sessionTokenFromUrl(href);
  if (fromUrl) {
    storage.setItem(STORAGE_KEY, fromUrl);
    replaceUrl(withoutToken(href));
    return fromUrl;
  }
  return storage.getItem(STORAGE_KEY);
}

export function httpTransport(origin: string, token: string): StudioTransport {
  const listeners = new Set<(event: StudioEvent) => void>();
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let opening = false;

  const open = async () => {
    if (source || opening || listeners.size === 0) return;
    opening = true;
    try {
      const res = await fetch(new URL(EVENTS_TICKET_PATH, origin), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const ticket = EventsTicketSchema.parse(await res.json()).ticket;
      if (listeners.size === 0) return;
      const url = new URL(EVENTS_PATH, origin);
      url.searchParams.set(TICKET_QUERY, ticket);
      const es = new EventSource(url.href);
      source = es;
      es.addEventListener(JOB_EVENT, (e) => {
        const parsed = StudioEventSchema.safeParse(JSON.parse((e as MessageEvent<string>).data));
        if (parsed.success) for (const l of listeners) l(parsed.data);
      });
      // The browser would reconnect with the spent ticket: close, and reconnect with a new one.
      es.addEventListener('error', () => {
        es.close();
        if (source === es) source = null;
        scheduleOpen();
      });
    } catch {
      scheduleOpen();
    } finally {
      opening = false;
    }
  };
  const scheduleOpen = () => {
    if (retry !== null || listeners.size === 0) return;
    retry = setTimeout(() => {
      retry = null;
      void open();
    }, RECONNECT_MS);
  };

  return {
    async call(method, request): Promise<CallResult> {
      let res: Response;
      try {
        res = await fetch(new URL(`${API_PREFIX}${method}`, origin), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(request ?? {}),
        });
      } catch (err) {
        return {
          ok: false,
          error: {
            code: 'internal',
            message: `the studio server cannot be reached (${(err as Error).message}); is \`sae-studio serve\` still running?`,
          },
        };
      }
      const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
      if (res.ok) return { ok: true, result: body };
      if (body && typeof body === 'object' && body.error) return { ok: false, error: body.error as ServiceErrorData };
      return { ok: false, error: { code: 'internal', message: `HTTP ${res.status} from the studio server` } };
    },
    subscribe(listener) {
      listeners.add(listener);
      void open();
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        if (retry !== null) clearTimeout(retry);
        retry = null;
        source?.close();
        source = null;
      };
    },
  };
}
