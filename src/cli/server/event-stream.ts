/**
 * Server-Sent Events for `GET /api/events`: every StudioEvent goes to every connected client as `event: job` with
 * the event's JSON as data, with a comment line as heartbeat. A client that stops reading is dropped rather than
 * buffered without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JOB_EVENT } from '../../protocol/http-api';
import type { StudioEvent } from '../../protocol/jobs';
import type { StudioEventSource } from '../../protocol/studio-client';

export interface EventStreamOptions {
  maxClients?: number;
  heartbeatMs?: number;
  /** Bytes a client may have unread before it is dropped. */
  maxBufferedBytes?: number;
}

export class EventStreamHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    events: StudioEventSource,
    private readonly options: EventStreamOptions = {},
  ) {
    this.unsubscribe = events.subscribe((event) => this.broadcast(event));
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** False when the hub is full (the caller answers 503). */
  open(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= (this.options.maxClients ?? 32)) return false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
    return true;
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private broadcast(event: StudioEvent): void {
    this.write(`event: ${JOB_EVENT}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private write(chunk: string): void {
    const limit = this.options.maxBufferedBytes ?? 4 * 1024 * 1024;
    for (const res of this.clients) {
      if (res.writableLength > limit) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
