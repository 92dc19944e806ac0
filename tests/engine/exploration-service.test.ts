// The exploration methods through the studio client on a real store: comparing hand-made dictionaries of one hook
// (the split, the new feature, the gone one and the mutual pairs come back with their glimpses), refusing two hooks
// in one line, the overview and random feature of a dictionary without an analysis, and the live search agreeing
// with "try text" at the query's positions.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/validate';
import { kindOf, saveAnyDictionary } from '../../src/core/dictionary/registry';
import { upsertDictionary } from '../../src/core/store';
import { createStudioFixture, type StudioFixture } from './studio-fixture';

const D = 256;
const e = (i: number, scale = 1) => Array.from({ length: D }, (_, j) => (j === i ? scale : 0));
const add = (x: number[], y: number[]) => x.map((v, j) => v + y[j]!);

function save(f: StudioFixture, name: string, rows: number[][], hook: string): void {
  const kind = kindOf('sae');
  const cfg = parseConfig(
    kind.schema,
    {
      sae_type: 'sae',
      d_model: D,
      d_sae: rows.length,
      hook_point_in: hook,
      hook_point_out: hook,
      act_fn: 'relu',
      norm_activation: 'inference',
      model_name: 'pdlm-4l-256',
    },
    name,
  );
  const params = kind.init(cfg, 1);
  params.W_D!.data = Float32Array.from(rows.flat());
  // Encoders that fire: the transposed decoder, scaled.
  params.W_E!.data = Float32Array.from(
    { length: D * rows.length },
    (_, k) => rows[k % rows.length]![Math.floor(k / rows.length)]! * 0.5,
  );
  const dir = join(f.home.root, 'dictionaries', name);
  mkdirSync(dir, { recursive: true });
  saveAnyDictionary(dir, kind, cfg, params);
  upsertDictionary(f.store, { name, path: dir, config: cfg as never, modelName: 'pdlm-4l-256' });
}

let f: StudioFixture;
beforeAll(() => {
  f = createStudioFixture();
  save(f, 'a', [e(0), e(1), e(2), e(3)], 'blocks.1.hook_resid_post');
  save(
    f,
    'b',
    [e(0, 3), add(e(1), e(4, 0.3)), add(e(1), e(5, 0.4)), add(e(2, 2), e(7, 0.05)), e(6)],
    'blocks.1.hook_resid_post',
  );
  save(f, 'c', [e(0), e(1)], 'blocks.2.hook_resid_post');
});
afterAll(async () => {
  await f.close();
});

describe('exploration methods of the studio service', () => {
  it('compares two dictionaries of one hook', async () => {
    const c = await f.client.compareDictionaries({ a: 'a', b: 'b' });
    expect(c.counts).toEqual({ mutual: 3, splits: 1, newInB: 1, goneFromA: 1, matchedInB: 4 });
    expect(c.splits[0]?.a.index).toBe(1);
    expect(c.splits[0]?.children.map((x) => x.b.index)).toEqual([1, 2]);
    expect(c.newInB[0]?.b.index).toBe(4);
    expect(c.goneFromA[0]?.a.index).toBe(3);
    expect(c.a).toEqual({ name: 'a', dSae: 4, hook: 'blocks.1.hook_resid_post' });
    // Not analysed: the glimpses say so.
    expect(c.splits[0]?.a).toEqual({ index: 1, interpretation: null, frequency: null, topTokens: [] });
  });

  it('refuses dictionaries of two hooks in one line', async () => {
    await expect(f.client.compareDictionaries({ a: 'a', b: 'c' })).rejects.toThrow(
      /^dictionaries 'a' \(blocks\.1\.hook_resid_post\) and 'c' \(blocks\.2\.hook_resid_post\) write different hooks; compare dictionaries of the same hook$/,
    );
  });

  it('an overview and a random feature without an analysis; a search of the samples needs one', async () => {
    const o = await f.client.dictionaryOverview({ dictionary: 'a' });
    expect(o).toMatchObject({ analysis: null, nFeatures: 0, dead: 0, metrics: null });
    expect(await f.client.randomFeature({ dictionary: 'a' })).toEqual({ index: null });
    await expect(f.client.searchFeatures({ dictionary: 'a', query: ' the' })).rejects.toThrow(
      /dictionary 'a' has no analysis to search yet/,
    );
  });

  it('a live search agrees with "try text" at the positions of the query', async () => {
    const text = 'the cat saw the dog and the bird';
    const live = await f.client.searchFeatures({ dictionary: 'b', query: ' the', source: 'text', text });
    const rows = await f.client.featuresOnText({ dictionary: 'b', text, topFeatures: 32 });
    const want = new Map<number, number>();
    for (const r of rows.tokens.filter((t) => t.token === ' the'))
      for (const x of r.features)
        if (x.activation > 0) want.set(x.index, Math.max(want.get(x.index) ?? 0, x.activation));
    expect(want.size).toBeGreaterThan(0);
    expect(live.queryTokens).toEqual([' the']);
    expect(new Map(live.hits.map((h) => [h.index, h.maxActivation]))).toEqual(want);
    for (const h of live.hits) expect(h.snippet.tokens[h.snippet.highlight]).toBe(' the');
  });
});
