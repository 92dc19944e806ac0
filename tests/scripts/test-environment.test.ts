// The probe `npm test` runs first: a missing piece is a notice naming its package locally, and an error under CI.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function probe(env: Record<string, string>) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'test-environment.mjs')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe('the test-environment probe', () => {
  it('names the package of a missing chromium and goes on outside CI', () => {
    const run = probe({ CI: 'false', CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^NOTICE: the end-to-end suite will be skipped: no chromium at \/nonexistent\/chromium \(apt-get install chromium/m,
    );
  });

  it('fails under CI=true when a required suite would be skipped', () => {
    const run = probe({ CI: 'true', CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^error: the end-to-end suite cannot run/m);
  });
});
