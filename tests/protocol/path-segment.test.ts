// A dictionary's name and a run's id become folders under the studio home: only one plain path segment passes.
import { describe, expect, it } from 'vitest';
import { PathSegmentSchema, isPathSegment } from '../../src/protocol/path-segment';
import { TrainConfigSchema } from '../../src/protocol/run-config';
import { RunIdSchema } from '../../src/protocol/runs';

const GOOD = ['sae', 'demo', 'my.sae-v2_final', '_draft', 'L2-resid_post.k32', 'a'.repeat(128)];
const BAD = ['', '.', '..', '.hidden', '../x', '../../x', 'a/b', 'a\\b', '/abs', '-rf', 'a b', 'ä', 'a'.repeat(129)];

describe('one plain path segment', () => {
  it.each(GOOD)('accepts %j', (name) => {
    expect(isPathSegment(name)).toBe(true);
    expect(PathSegmentSchema.safeParse(name).success).toBe(true);
  });

  it.each(BAD)('refuses %j', (name) => {
    expect(isPathSegment(name)).toBe(false);
    expect(RunIdSchema.safeParse(name).success).toBe(false);
  });

  it.each(['.', '..', '../../x'])("refuses the run config's name %j, naming the field", (name) => {
    const r = TrainConfigSchema.safeParse({
      name,
      model: 'pdlm-4l-256',
      dataset: 'pdlm-corpus',
      sae: { hook_point_in: 'blocks.0.hook_resid_post' },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['name']);
    expect(r.error?.issues[0]?.message).toMatch(/one folder name/);
  });
});
