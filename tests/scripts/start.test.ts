// `npm start` where Electron's binary is missing (the install never downloads it): one line saying how to get it,
// exit 1, and no stack trace.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('npm start without the Electron binary', () => {
  it('says in one line how to get it', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'start.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: join(root, 'no-such-electron-dist') },
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Electron's binary is not installed/);
    expect(lines[0]).toMatch(/node node_modules\/electron\/install\.js/);
    expect(lines[0]).toMatch(/sae-studio serve/);
    expect(run.stdout).toBe('');
  });
});
