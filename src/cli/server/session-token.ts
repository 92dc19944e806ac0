/**
 * The session token of `sae-studio serve`: random per start, required on every API request as `Authorization: Bearer
 * <token>`. It is never set as a cookie — cookies are scoped by host, not port, so any other web server on
 * 127.0.0.1 the browser visits would receive it — and never accepted from a query parameter by the API. The page
 * takes it from the printed URL into its own storage and sends it as the header; for Server-Sent Events (which
 * cannot send headers) it trades the token for a ticket: random, valid TICKET_TTL_MS, good for one stream.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TICKET_TTL_MS } from '../../protocol/http-api';

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sameToken(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of the Authorization header (the only place the API reads it from). */
export function bearerToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return null;
}

/** Single-use tickets for the event stream, each valid for `ttlMs` after it was issued. */
export class EventTickets {
  private readonly live = new Map<string, number>();

  constructor(
    private readonly ttlMs = TICKET_TTL_MS,
    private readonly maxLive = 64,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): string {
    this.prune();
    if (this.live.size >= this.maxLive) {
      const oldest = this.live.keys().next().value;
      if (oldest !== undefined) this.live.delete(oldest);
    }
    const ticket = randomBytes(24).toString('base64url');
    this.live.set(ticket, this.now() + this.ttlMs);
    return ticket;
  }

  /** True once for a ticket that was issued and has not expired; the ticket is spent either way. */
  redeem(ticket: string | null): boolean {
    if (ticket === null) return false;
    this.prune();
    for (const [known, expires] of this.live) {
      if (!sameToken(ticket, known)) continue;
      this.live.delete(known);
      return expires > this.now();
    }
    return false;
  }

  get size(): number {
    return this.live.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [t, expires] of this.live) if (expires <= now) this.live.delete(t);
  }
}
