// sweepDeadTempFiles: the temporary file of an atomic write whose process is gone (killed between its write and its
// rename) is removed; one of a live writer, and every other file, stays.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepDeadTempFiles } from '../../../src/core/util/atomic-file';

describe('sweepDeadTempFiles', () => {
  it("removes a dead writer's temporary files only", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-studio-sweep-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
    const files = [
      `.chunk-00000001.safetensors.${dead}.0123abcd.tmp`, // dead writer: removed
      `.manifest.json.${dead}.89abcdef.tmp`, // dead writer: removed
      `.manifest.json.${process.pid}.89abcdef.tmp`, // this (live) process: kept
      `.manifest.json.1.89abcdef.tmp`, // pid 1 is alive: kept
      'chunk-00000001.safetensors',
      '.hidden',
      `x.${dead}.0123abcd.tmp`, // not one of ours (no leading dot): kept
    ];
    for (const f of files) writeFileSync(join(dir, f), 'x');
    expect(sweepDeadTempFiles(dir)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(files.slice(2).sort());
    expect(sweepDeadTempFiles(join(dir, 'missing'))).toBe(0);
  });
});
