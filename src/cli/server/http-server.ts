/**
 * The HTTP server of `sae-studio serve`, on 127.0.0.1 only: `POST /api/<method>` through the StudioService
 * dispatcher, `GET /api/events` as Server-Sent Events, and the UI's static files. Every request needs a Host header
 * naming this server (403: a DNS-rebinding page gets nothing); every API request an `Origin`, when it has one, that
 * is this server (403: another site's page gets nothing) and the session token as a Bearer header (401), or for the
 * event stream a single-use ticket bought with it. The UI's files are public (they hold no secret) and are never
 * framed. Request bodies are bounded (413), must be JSON (415 / 400), and errors answer `{ error: { code, message,
 * issues? } }`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  API_PREFIX,
  EVENTS_PATH,
  EVENTS_TICKET_PATH,
  HTTP_STATUS,
  MAX_REQUEST_BYTES,
  TICKET_QUERY,
  TICKET_TTL_MS,
  TOKEN_QUERY,
  type EventsTicket,
} from '../../protocol/http-api';
import { dispatchStudioCall } from '../../protocol/service-dispatch';
import type { ServiceErrorData } from '../../protocol/service-error';
import type { StudioEventSource } from '../../protocol/studio-client';
import { isStudioMethod, type StudioServiceImpl } from '../../protocol/studio-service';
import { EventStreamHub, type EventStreamOptions } from './event-stream';
import { bearerToken, EventTickets, sameToken } from './session-token';
import { serveStatic } from './static-files';

export const HOST = '127.0.0.1';

export interface StudioServerOptions {
  impl: StudioServiceImpl;
  events: StudioEventSource;
  token: string;
  /** 0 (default): a free port. */
  port?: number;
  /** The built renderer (index.html + assets); null or missing: a placeholder page. */
  rendererDir?: string | null;
  onInternalError?: (method: string, error: unknown) => void;
  eventStream?: EventStreamOptions;
  /** How long an events ticket stays valid (default TICKET_TTL_MS). */
  ticketTtlMs?: number;
}

export interface StudioServer {
  port: number;
  /** `http://127.0.0.1:<port>/` */
  origin: string;
  /** The origin with the session token, the address to open in a browser. */
  url: string;
  /** Stops accepting requests, ends event streams, and resolves once every connection has closed. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly data: ServiceErrorData,
  ) {
    super(data.message);
  }
}

export async function startStudioServer(options: StudioServerOptions): Promise<StudioServer> {
  const hub = new EventStreamHub(options.events, options.eventStream);
  const tickets = new EventTickets(options.ticketTtlMs ?? TICKET_TTL_MS);
  let port = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, { code: 'internal', message: 'internal error' });
      if (!(err instanceof HttpError)) options.onInternalError?.('(http)', err);
      req.resume(); // an unread body is dropped
      if (res.headersSent) res.destroy();
      else sendJson(res, e.status, { error: e.data });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (!allowedHost(req.headers.host, port))
      throw new HttpError(403, {
        code: 'unauthorized',
        message: 'this server answers only to 127.0.0.1 and localhost',
      });
    if (!url.pathname.startsWith(API_PREFIX)) return serveUi(req, res, url);

    req.on('error', () => undefined);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin, port))
      throw new HttpError(403, {
        code: 'unauthorized',
        message: `Origin '${oneLineOf(origin)}' is not this studio: the API answers only its own page (http://${HOST}:${port})`,
      });
    if (url.pathname === EVENTS_PATH) {
      if (req.method !== 'GET') throw methodNotAllowed(res, 'GET');
      const ticket = url.searchParams.get(TICKET_QUERY);
      const allowed = ticket !== null ? tickets.redeem(ticket) : sameToken(bearerToken(req), options.token);
      if (!allowed)
        throw new HttpError(401, {
          code: 'unauthorized',
          message: `missing, used or expired events ticket: POST ${EVENTS_TICKET_PATH} with the session token for a new one`,
        });
      if (!hub.open(req, res))
        throw new HttpError(503, { code: 'internal', message: 'too many event streams are open' });
      return;
    }
    if (!sameToken(bearerToken(req), options.token)) {
      throw new HttpError(401, {
        code: 'unauthorized',
        message:
          "missing or wrong session token: send 'Authorization: Bearer <token>' with the token of the URL sae-studio serve printed",
      });
    }
    if (url.pathname === EVENTS_TICKET_PATH) {
      if (req.method !== 'POST') throw methodNotAllowed(res, 'POST');
      req.resume();
      const answer: EventsTicket = { ticket: tickets.issue(), expiresInMs: options.ticketTtlMs ?? TICKET_TTL_MS };
      return sendJson(res, 200, answer);
    }
    const method = url.pathname.slice(API_PREFIX.length);
    if (!isStudioMethod(method))
      throw new HttpError(HTTP_STATUS.unknown_method, {
        code: 'unknown_method',
        message: `unknown method '${method}'`,
      });
    if (req.method !== 'POST') throw methodNotAllowed(res, 'POST');
    const body = await readJsonBody(req);
    const outcome = await dispatchStudioCall(options.impl, method, body, { onInternalError: options.onInternalError });
    if (outcome.ok) sendJson(res, 200, outcome.result);
    else sendJson(res, HTTP_STATUS[outcome.error.code], { error: outcome.error });
  }

  function serveUi(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
    // The page takes the token from its URL into its own storage; no other page may frame it and use it.
    res.setHeader('X-Frame-Options', 'DENY');
    serveStatic(req, res, url.pathname, options.rendererDir ?? null);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${HOST}:${port}/`;
  return {
    port,
    origin,
    url: `${origin}?${TOKEN_QUERY}=${options.token}`,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

function allowedHost(host: string | undefined, port: number): boolean {
  return host === `${HOST}:${port}` || host === `localhost:${port}`;
}

function allowedOrigin(origin: string, port: number): boolean {
  return origin === `http://${HOST}:${port}` || origin === `http://localhost:${port}`;
}

function oneLineOf(text: string): string {
  const printable = [...text].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '?' : c));
  return printable.join('').slice(0, 200);
}

function methodNotAllowed(res: ServerResponse, allow: string): HttpError {
  res.setHeader('Allow', allow);
  return new HttpError(405, { code: 'invalid_input', message: `use ${allow}` });
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const tooLarge = new HttpError(413, {
    code: 'invalid_input',
    message: `request body over ${MAX_REQUEST_BYTES} bytes`,
  });
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) throw tooLarge;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) return chunks.push(chunk);
      req.off('data', onData);
      req.resume(); // the rest is read and dropped, so the client gets the answer instead of a reset
      reject(tooLarge);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (body.length === 0) return {};
  const [mediaType = ''] = (req.headers['content-type'] ?? '').split(';');
  const type = mediaType.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, {
      code: 'invalid_input',
      message: "send the request as JSON ('Content-Type: application/json')",
    });
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    const message = `request body: not valid JSON (${(err as Error).message})`;
    throw new HttpError(400, { code: 'invalid_input', message, issues: [{ field: '', message }] });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
