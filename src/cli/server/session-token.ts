/**
 * The session token of `sae-studio serve`: random per start, required on every request. The API takes it as
 * `Authorization: Bearer <token>` or `?token=`; pages and assets also accept the HttpOnly, SameSite=Strict cookie set
 * when the printed URL is opened, so the browser can load a bundle's scripts. The API never accepts the cookie, which
 * keeps other sites from calling it with the user's browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_QUERY } from '../../protocol/http-api';

export const SESSION_COOKIE = 'sae_studio_session';

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sameToken(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of a header or query parameter (what the API accepts). */
export function requestToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return url.searchParams.get(TOKEN_QUERY);
}

export function cookieToken(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=');
  }
  return null;
}

export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
