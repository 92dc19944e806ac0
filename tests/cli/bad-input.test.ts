// The CLI's error output outside the bad-input tables (tests/badinput/, where every bad input of this file's earlier
// cases now runs with stricter checks): the stack trace only with --debug, and --help on every command.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';

describe('CLI bad input', () => {
  it('prints the stack trace only with --debug', () => {
    const ids = join(mkdtempSync(join(tmpdir(), 'sae-studio-ids-')), 'ids.json');
    writeFileSync(ids, '[[1, 2, 3]]');
    const args = ['lm', 'forward', '--model', '/nonexistent/model', '--ids', ids, '--out', join(tmpdir(), 'x.st')];
    const plain = runCli([...args, '--backend', 'cpu']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const r = runCli([...args, '--backend', 'cpu', '--debug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('--help works on every command', () => {
    for (const cmd of [[], ['tokenize'], ['lm', 'forward'], ['lm', 'eval'], ['lm']]) {
      const r = runCli([...cmd, '--help']);
      expect(r.status, cmd.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage|Subcommands/);
    }
  });
});
