// The studio service's sync methods (protocol/sync.ts): a push or pull through core/sync on the service's store,
// and the store's log of sync runs and conflicts. Errors come back as one redacted line (InputError → invalid_input).
import type { StudioHome } from '../core/home';
import type { Store } from '../core/store';
import { pullFromMongo, pushToMongo } from '../core/sync/mongo-sync';
import { listConflicts, listSyncRuns } from '../core/sync/sync-state';
import type { StudioServiceImpl } from '../protocol/studio-service';

export function syncMethods(deps: { store: Store; home: StudioHome }): Pick<StudioServiceImpl, 'syncRun' | 'syncLog'> {
  return {
    syncRun: async ({ direction, uri, password, db, series, only, timeoutMs }) => {
      const pathDb = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(uri)?.[1];
      const target = {
        uri,
        db: db ?? (pathDb ? decodeURIComponent(pathDb) : 'mechinterp'),
        ...(password ? { password } : {}),
        serverSelectionTimeoutMS: timeoutMs,
      };
      const run = direction === 'push' ? pushToMongo : pullFromMongo;
      const {
        direction: d,
        target: t,
        writes,
        unchanged,
        files,
        conflicts,
        perCollection,
        seconds,
      } = await run(deps.store, target, { series, only, home: deps.home });
      return { direction: d, target: t, writes, unchanged, files, conflicts, perCollection, seconds };
    },
    syncLog: async () => ({
      runs: listSyncRuns(deps.store).map((r) => ({
        target: r.target,
        direction: r.direction,
        status: r.status,
        counts: JSON.parse(r.counts) as Record<string, unknown>,
        error: r.error,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
      })),
      conflicts: listConflicts(deps.store).map((c) => ({
        target: c.target,
        record: c.record_key,
        field: c.field,
        winner: c.winner,
        localValue: c.local_value,
        remoteValue: c.remote_value,
        resolvedAt: c.resolved_at,
      })),
    }),
  };
}
