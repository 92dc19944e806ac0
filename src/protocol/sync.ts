// The Sync page's calls: push the store to (or pull it from) an lm-saes MongoDB, and the log of past syncs and
// conflicts. The password travels only inside a request (held in the page's memory), never in a response.
import { z } from 'zod';

export const SYNC_GROUPS = ['dictionaries', 'analyses', 'features', 'bookmarks', 'circuits'] as const;

export const SyncRequestSchema = z.strictObject({
  direction: z.enum(['push', 'pull']),
  /** mongodb:// URI, normally without a password (a password in it is accepted and shown redacted). */
  uri: z.string().min(1),
  password: z.string().optional(),
  db: z.string().min(1).optional(),
  series: z.string().min(1).optional(),
  only: z.array(z.enum(SYNC_GROUPS)).optional(),
  timeoutMs: z.number().int().positive().default(10_000),
});

export const SyncSummarySchema = z.object({
  direction: z.enum(['push', 'pull']),
  target: z.string(),
  writes: z.number(),
  unchanged: z.number(),
  files: z.number(),
  conflicts: z.number(),
  perCollection: z.record(z.string(), z.number()),
  seconds: z.number(),
});
export type SyncSummaryView = z.infer<typeof SyncSummarySchema>;

export const SyncLogResponseSchema = z.object({
  runs: z.array(
    z.object({
      target: z.string(),
      direction: z.string(),
      status: z.string(),
      counts: z.record(z.string(), z.unknown()),
      error: z.string().nullable(),
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
    }),
  ),
  conflicts: z.array(
    z.object({
      target: z.string(),
      record: z.string(),
      field: z.string(),
      winner: z.enum(['local', 'remote']),
      localValue: z.string().nullable(),
      remoteValue: z.string().nullable(),
      resolvedAt: z.string(),
    }),
  ),
});
export type SyncLogView = z.infer<typeof SyncLogResponseSchema>;
