/**
 * The transport of a browser tab served by `sae-studio serve`: `POST /api/<method>` with the session token as a
 * Bearer header, and the studio's job events from `GET /api/events` (Server-Sent Events, which the browser
 * reconnects by itself). The token comes from the page URL that `serve` printed (`?token=…`).
 */
import { API_PREFIX, EVENTS_PATH, JOB_EVENT, TOKEN_QUERY } from '../../../protocol/http-api';
import { StudioEventSchema, type StudioEvent } from '../../../protocol/jobs';
import type { CallResult, ServiceErrorData } from '../../../protocol/service-error';
import type { StudioTransport } from '../../../protocol/studio-client';

export function sessionTokenFromUrl(href: string): string | null {
  return new URL(href).searchParams.get(TOKEN_QUERY);
}

export function httpTransport(origin: string, token: string): StudioTransport {
  const listeners = new Set<(event: StudioEvent) => void>();
  let source: EventSource | null = null;

  const open = () => {
    const url = new URL(EVENTS_PATH, origin);
    url.searchParams.set(TOKEN_QUERY, token);
    source = new EventSource(url.href);
    source.addEventListener(JOB_EVENT, (e) => {
      const parsed = StudioEventSchema.safeParse(JSON.parse((e as MessageEvent<string>).data));
      if (parsed.success) for (const l of listeners) l(parsed.data);
    });
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
      if (!source) open();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  };
}
