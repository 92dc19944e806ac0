// `sae-studio sync` as a real process against a closed local port: one error line within the timeout, and the
// password — given in the URI or through SAE_STUDIO_MONGO_PASSWORD — appears nowhere in the output nor in any
// file of the home folder afterwards (the failed run is recorded with the redacted target and error).
import Database from 'better-sqlite3';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLines, runCli } from '../helpers/cli';
import { useTempDirs } from '../core/store/helpers';
import { buildFullStore } from '../core/sync/store-fixture';
import { closedPort } from '../core/sync/closed-port';

const tempDir = useTempDirs();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('sae-studio sync', () => {
  it.each([
    [
      'in the URI',
      (port: number) => `mongodb://alice:Pa55-word-xyz@127.0.0.1:${port}/mechinterp?directConnection=true`,
      {},
    ],
    [
      `in ${'SAE_STUDIO_MONGO_PASSWORD'}`,
      (port: number) => `mongodb://alice@127.0.0.1:${port}/?directConnection=true`,
      { SAE_STUDIO_MONGO_PASSWORD: 'Pa55-word-xyz' },
    ],
  ])(
    'push to an unreachable server: one line, and the password (%s) nowhere on disk or in output',
    async (_how, uriOf, env) => {
      const home = tempDir();
      buildFullStore(home);
      const port = await closedPort();
      const r = runCli(['sync', 'push', '--mongo', uriOf(port), '--timeout-ms', '1000'], {
        SAE_STUDIO_HOME: home,
        ...env,
      });
      expect(r.status).toBe(2); // an InputError
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`cannot reach MongoDB at mongodb://alice(:\\*\\*\\*)?@127\\.0\\.0\\.1:${port}/.* within 1000 ms`),
      );
      expect(r.stdout + r.stderr).not.toContain('Pa55-word-xyz');
      for (const file of filesUnder(home)) expect(readFileSync(file).includes('Pa55-word-xyz'), file).toBe(false);
      const db = new Database(join(home, 'studio.db'), { readonly: true });
      const run = db.prepare('SELECT target, direction, status, error FROM sync_runs').get() as Record<string, string>;
      db.close();
      expect(run).toMatchObject({
        target: `mongodb://alice@127.0.0.1:${port}/mechinterp`,
        direction: 'push',
        status: 'failed',
      });
      expect(run.error).toContain('cannot reach MongoDB');
    },
  );

  it('refuses a user without a password when none is given and there is no terminal, and a bad --only', () => {
    const home = tempDir();
    const noPassword = runCli(['sync', 'pull', '--mongo', 'mongodb://alice@127.0.0.1:1/'], { SAE_STUDIO_HOME: home });
    expect(errorLines(noPassword.stderr)).toEqual([
      "sae-studio: error: --mongo mongodb://alice@127.0.0.1:1/ names user 'alice' without a password: set SAE_STUDIO_MONGO_PASSWORD",
    ]);
    const only = runCli(['sync', 'push', '--mongo', 'mongodb://127.0.0.1:1/', '--only', 'features,weights'], {
      SAE_STUDIO_HOME: home,
    });
    expect(errorLines(only.stderr)).toEqual([
      "sae-studio: error: --only: 'weights' is not one of dictionaries, analyses, features, bookmarks, circuits",
    ]);
  });
});
