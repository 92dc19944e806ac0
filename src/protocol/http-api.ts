/**
 * The HTTP face of StudioService (`sae-studio serve`): `POST /api/<method>` with the JSON request as body, `GET
 * /api/events` as Server-Sent Events (`event: job`, data a StudioEvent), and a session token on every request — an
 * `Authorization: Bearer <token>` header or a `?token=` query parameter.
 * A call answers 200 with the response as JSON body, or the status of HTTP_STATUS with `{ error: ServiceErrorData }`;
 * the transport's own refusals carry the same body: 403 a Host other than 127.0.0.1 / localhost, 405 the wrong HTTP
 * method, 413 a body over MAX_REQUEST_BYTES, 415 a body that is not `application/json`, 503 too many event streams.
 */
import type { ErrorCode } from './service-error';

export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/api/events';
/** The SSE event name of StudioEvents. */
export const JOB_EVENT = 'job';
export const TOKEN_QUERY = 'token';
/** Largest request body accepted, in bytes. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** HTTP status of each error code; a successful call answers 200 with the response as body. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  unknown_method: 404,
  internal: 500,
};
