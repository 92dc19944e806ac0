// The Sync page's service methods on a real store: a push to an unreachable server fails in one redacted line,
// and the sync log then lists the failed run under the password-less target — the password in the request is
// in no response and nowhere in the home folder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { studioHome } from '../../src/core/home';
import { openStore } from '../../src/core/store';
import { syncMethods } from '../../src/engine/sync-methods';
import { SyncRequestSchema } from '../../src/protocol/sync';
import { useTempDirs } from '../core/store/helpers';
import { closedPort } from '../core/sync/closed-port';
import { buildFullStore } from '../core/sync/store-fixture';

const tempDir = useTempDirs();

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

describe('sync service methods', () => {
  it('reports an unreachable server in one redacted line and logs the failed run without the password', async () => {
    const dir = tempDir();
    buildFullStore(dir);
    const store = openStore({ dir });
    const methods = syncMethods({ store, home: studioHome(dir) });
    const port = await closedPort();
    const request = SyncRequestSchema.parse({
      direction: 'push',
      uri: `mongodb://lab-user@127.0.0.1:${port}/?directConnection=true`,
      password: 'page-only-Secret9',
      timeoutMs: 1000,
    });
    const err = await methods.syncRun(request).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      new RegExp(`^cannot reach MongoDB at mongodb://lab-user@127\\.0\\.0\\.1:${port}/.* within 1000 ms`),
    );
    expect(err?.message).not.toContain('page-only-Secret9');
    const log = await methods.syncLog({});
    store.close();
    expect(log.runs).toHaveLength(1);
    expect(log.runs[0]).toMatchObject({
      target: `mongodb://lab-user@127.0.0.1:${port}/mechinterp`,
      direction: 'push',
      status: 'failed',
    });
    expect(JSON.stringify(log)).not.toContain('page-only-Secret9');
    for (const f of files(dir)) expect(readFileSync(f).includes('page-only-Secret9'), f).toBe(false);
  });
});
