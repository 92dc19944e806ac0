/**
 * The HTTP face of StudioService (`sae-studio serve`): `POST /api/<method>` with the JSON request as body, `GET
 * /api/events` as Server-Sent Events (`event: job`, data a StudioEvent).
 *
 * Authentication: the session token travels only in an `Authorization: Bearer <token>` header, which the page sends
 * from its own memory; it is never a cookie (cookies are scoped by host, not port, so every other server on
 * 127.0.0.1 would receive it). The printed URL carries it once as `?token=` for the page to pick up. An EventSource
 * cannot send a header, so the page first trades its token for a ticket (`POST /api/events/ticket`: short-lived,
 * single use) and opens `GET /api/events?ticket=…`. A request with an `Origin` other than the server's own is
 * refused (403) before anything else is read.
 *
 * A call answers 200 with the response as JSON body, or the status of HTTP_STATUS with `{ error: ServiceErrorData }`;
 * the transport's own refusals carry the same body: 403 a Host other than 127.0.0.1 / localhost or a foreign
 * Origin, 405 the wrong HTTP method, 413 a body over MAX_REQUEST_BYTES, 415 a body that is not `application/json`,
 * 503 too many event streams (and `busy`: the store stayed locked by another process while the call was retried).
 */
import { z } from 'zod';
import type { ErrorCode } from './service-error';

export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/api/events';
/** `POST` here (with the Bearer header) answers an EventsTicket for one `GET /api/events?ticket=…`. */
export const EVENTS_TICKET_PATH = '/api/events/ticket';
export const TICKET_QUERY = 'ticket';
/** How long an events ticket stays valid, in milliseconds. */
export const TICKET_TTL_MS = 30_000;
/** The query parameter of the printed URL that hands the token to the page (never accepted by the API). */
export const TOKEN_QUERY = 'token';
/** Largest request body accepted, in bytes. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export const EventsTicketSchema = z.object({ ticket: z.string().min(1), expiresInMs: z.number().int().positive() });
export type EventsTicket = z.infer<typeof EventsTicketSchema>;

/** The SSE event name of StudioEvents. */
export const JOB_EVENT = 'job';

/** HTTP status of each error code; a successful call answers 200 with the response as body. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  unknown_method: 404,
  busy: 503,
  internal: 500,
};
