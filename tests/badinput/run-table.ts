// Runs one area's table of bad inputs through the built CLI, side by side (a pool of 3 processes), each case in a
// folder of its own with a copy of a seeded home, and records what held in tests/.artifacts/bad-input/<area>.json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caseDir,
  judge,
  pool,
  runCliAsync,
  seededHome,
  storeDigest,
  treeDigest,
  writeOutcomes,
  type BadInputCase,
  type CaseOutcome,
} from '../helpers/bad-input';

export function runBadInputTable(area: string, cases: readonly BadInputCase[]): void {
  describe(`bad input: ${area}`, () => {
    const outcomes: CaseOutcome[] = [];
    const limit = pool(3);
    let parent = '';
    let seed = '';
    beforeAll(() => {
      parent = mkdtempSync(join(tmpdir(), `sae-badinput-${area}-`));
      seed = seededHome();
    });
    afterAll(() => {
      writeOutcomes(area, outcomes);
      rmSync(parent, { recursive: true, force: true });
      rmSync(seed, { recursive: true, force: true });
    });

    it('has distinct case names', () => {
      expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    });

    it.concurrent.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
      const problem = await limit(async () => {
        const dir = caseDir(parent, seed);
        c.setup?.(dir);
        const before = { tree: treeDigest(dir.root, c.unreadable), store: storeDigest(dir.home) };
        const env = { SAE_STUDIO_HOME: dir.home, TMPDIR: dir.tmp, SAE_STUDIO_BACKEND: 'cpu', ...c.env?.(dir) };
        const r = await runCliAsync(c.args(dir), env);
        const after = { tree: treeDigest(dir.root, c.unreadable), store: storeDigest(dir.home) };
        return judge(r, c.culprit, before, after);
      });
      outcomes.push({ area, name: c.name, handled: problem === null, ...(problem ? { detail: problem } : {}) });
      expect(problem, c.name).toBeNull();
    });
  });
}
