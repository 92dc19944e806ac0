// Atomic directory writes: the target name holds the complete old or the complete new directory, never a
// partial one, and no temporary directory survives a failure.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdsAnyOf, writeDirAtomically } from '../../../../src/core/sae/formats/atomic-dir';
import { scratch } from './helpers';

const OPTS = { what: 'test dictionary', canReplace: holdsAnyOf(['config.json']) };

describe('writeDirAtomically', () => {
  let tmp: ReturnType<typeof scratch>;
  beforeEach(() => {
    tmp = scratch('atomic');
  });
  afterEach(() => tmp.remove());

  it('creates the directory with every file, and nothing else beside it', () => {
    const target = join(tmp.dir, 'dict');
    writeDirAtomically(target, OPTS, (w) => {
      w.writeFile('weights.bin', new Uint8Array([1, 2, 3]));
      w.writeFile('config.json', '{}');
    });
    expect(readFileSync(join(target, 'weights.bin'))).toEqual(Buffer.from([1, 2, 3]));
    expect(tmp.entries()).toEqual(['dict']);
  });

  it('replaces an existing directory and removes the old one', () => {
    const target = join(tmp.dir, 'dict');
    writeDirAtomically(target, OPTS, (w) => {
      w.writeFile('old-only.txt', 'x');
      w.writeFile('config.json', '"old"');
    });
    writeDirAtomically(target, OPTS, (w) => w.writeFile('config.json', '"new"'));
    expect(readFileSync(join(target, 'config.json'), 'utf8')).toBe('"new"');
    expect(existsSync(join(target, 'old-only.txt'))).toBe(false);
    expect(tmp.entries()).toEqual(['dict']);
  });

  it('keeps the old directory and leaves no temporary one when writing fails half-way', () => {
    const target = join(tmp.dir, 'dict');
    writeDirAtomically(target, OPTS, (w) => w.writeFile('config.json', '"old"'));
    expect(() =>
      writeDirAtomically(target, OPTS, (w) => {
        w.writeFile('weights.bin', new Uint8Array(8));
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(readFileSync(join(target, 'config.json'), 'utf8')).toBe('"old"');
    expect(tmp.entries()).toEqual(['dict']);
  });

  it('fails before writing anything when the parent does not exist or is a file', () => {
    writeFileSync(join(tmp.dir, 'file'), '');
    expect(() => writeDirAtomically(join(tmp.dir, 'missing', 'dict'), OPTS, () => undefined)).toThrow('does not exist');
    expect(() => writeDirAtomically(join(tmp.dir, 'file', 'dict'), OPTS, () => undefined)).toThrow(
      'is not a directory',
    );
    expect(tmp.entries()).toEqual(['file']);
  });

  it('refuses to replace a file or a directory that does not hold a dictionary', () => {
    writeFileSync(join(tmp.dir, 'file'), 'keep');
    mkdirSync(join(tmp.dir, 'photos'));
    writeFileSync(join(tmp.dir, 'photos', 'cat.jpg'), 'keep');
    expect(() => writeDirAtomically(join(tmp.dir, 'file'), OPTS, () => undefined)).toThrow('is not a directory');
    expect(() => writeDirAtomically(join(tmp.dir, 'photos'), OPTS, () => undefined)).toThrow(
      'does not hold a test dictionary',
    );
    expect(readFileSync(join(tmp.dir, 'photos', 'cat.jpg'), 'utf8')).toBe('keep');
    expect(tmp.entries()).toEqual(['file', 'photos']);
  });

  it('replaces an empty directory', () => {
    mkdirSync(join(tmp.dir, 'dict'));
    writeDirAtomically(join(tmp.dir, 'dict'), OPTS, (w) => w.writeFile('config.json', '{}'));
    expect(tmp.entries()).toEqual(['dict']);
  });
});

describe('writeDirAtomically: what a killed writer left', () => {
  let tmp: ReturnType<typeof scratch>;
  beforeEach(() => {
    tmp = scratch('atomic-leftovers');
  });
  afterEach(() => tmp.remove());

  /** A pid no process has: the writer that named its folders after it is dead. */
  const DEAD = 2 ** 22 + 12345;
  const leftover = (name: string, pid: number, suffix: 'tmp' | 'old') => {
    const dir = join(tmp.dir, `.${name}.${pid}.0badc0de.${suffix}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), `{"from": "${suffix}"}`);
    return dir;
  };
  const write = (name: string) =>
    writeDirAtomically(join(tmp.dir, name), OPTS, (w) => w.writeFile('config.json', '{}'));

  it("removes a dead writer's temporary folder at the next save in the folder", () => {
    leftover('killed', DEAD, 'tmp');
    write('other');
    expect(tmp.entries()).toEqual(['other']);
  });

  it("puts back a dead writer's set-aside dictionary whose replacement never landed", () => {
    leftover('demo', DEAD, 'old');
    write('other');
    expect(tmp.entries().sort()).toEqual(['demo', 'other']);
    expect(readFileSync(join(tmp.dir, 'demo', 'config.json'), 'utf8')).toBe('{"from": "old"}');
  });

  it('puts back the set-aside dictionary before replacing it under the same name', () => {
    leftover('demo', DEAD, 'old');
    write('demo');
    expect(tmp.entries()).toEqual(['demo']);
    expect(readFileSync(join(tmp.dir, 'demo', 'config.json'), 'utf8')).toBe('{}');
  });

  it("leaves a live writer's folders alone", () => {
    const live = leftover('busy', process.pid, 'tmp');
    write('other');
    expect(existsSync(live)).toBe(true);
  });
});
