// The serve path rule: names are the studio's own; paths only inside the allowed folders, symbolic links followed,
// refused with one line before anything reads them.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { confinedPaths, pathIssues } from '../../src/engine/path-policy';

describe('confinedPaths', () => {
  const base = mkdtempSync(join(tmpdir(), 'sae-paths-'));
  const home = join(base, 'home');
  const picked = join(base, 'picked');
  const outside = join(base, 'outside');
  for (const d of [home, picked, outside, join(home, '..data')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, 'x.jsonl'), '{"text":"x"}\n');
  symlinkSync(outside, join(home, 'link'));
  symlinkSync(join(outside, 'x.jsonl'), join(picked, 'file-link.jsonl'));
  const policy = confinedPaths([home, picked]);

  it.each([
    ['a bundled model or corpus name', 'pdlm-4l-256'],
    ['a dictionary name', 'my-dict'],
    ['the home itself', home],
    ['a file not yet there in the home', join(home, 'later', 'data.jsonl')],
    ['a folder whose name starts with two dots', join(home, '..data', 'a.jsonl')],
    ['a picked folder', join(picked, 'a.txt')],
  ])('allows %s', (_, ref) => {
    expect(policy.refusal(ref)).toBeNull();
  });

  it.each([
    ['a file outside', join(outside, 'x.jsonl')],
    ['a way out through ..', join(home, '..', 'outside', 'x.jsonl')],
    ['a symbolic link to a folder outside', join(home, 'link', 'x.jsonl')],
    ['a symbolic link to a file outside', join(picked, 'file-link.jsonl')],
    ['the root', '/'],
    ['a parent', '..'],
    ['a relative path', 'some/where.jsonl'],
    ['a sibling with the home as prefix', `${home}-other/x.jsonl`],
  ])('refuses %s with one line', (_, ref) => {
    const message = policy.refusal(ref);
    expect(message).toMatch(/: outside the folders this studio may open \(.*\); start 'sae-studio serve' with --allow/);
    expect(message).not.toContain('\n');
  });

  it('reports each refused field, and nothing without a policy', () => {
    const refs = { model: 'pdlm-4l-256', dataset: join(outside, 'x.jsonl'), cache: null, other: undefined };
    expect(pathIssues(policy, refs).map((i) => i.field)).toEqual(['dataset']);
    expect(pathIssues(null, refs)).toEqual([]);
  });
});
