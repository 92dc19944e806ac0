// Every folder built from a name or an id under the studio home goes through one check (core/home.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors';
import { dictionaryDir, runDir, studioHome } from '../../src/core/home';

const home = studioHome(mkdtempSync(join(tmpdir(), 'sae-studio-home-')));

describe('folders under the studio home', () => {
  it('puts a run and a dictionary in their own folder', () => {
    expect(runDir(home, 'demo-2026-12-07-abc123')).toBe(join(home.runs, 'demo-2026-12-07-abc123'));
    expect(dictionaryDir(home, 'demo')).toBe(join(home.dictionaries, 'demo'));
  });

  it.each(['.', '..', '../../x', 'a/b', ''])('refuses the dictionary name %j in one line naming it', (name) => {
    expect(() => dictionaryDir(home, name)).toThrow(InputError);
    expect(() => dictionaryDir(home, name)).toThrow(`dictionary name '${name}' is not one folder name`);
  });

  it.each(['.', '..', '../../x', '/tmp/x'])('refuses the run id %j in one line naming it', (id) => {
    expect(() => runDir(home, id)).toThrow(`run id '${id}' is not one folder name`);
  });
});
