import { describe, expect, it } from 'vitest';
import { mixWeighted, mixedSource } from '../../../src/core/data/mixing';
import { openDataset } from '../../../src/core/data/sources/open-dataset';
import { collect, fixture } from './helpers';

async function* items<T>(...xs: T[]) {
  yield* xs;
}
async function* counter(prefix: string, n: number) {
  for (let i = 0; i < n; i++) yield `${prefix}${i}`;
}

describe('mixWeighted', () => {
  it('is deterministic for a seed and differs between seeds', async () => {
    const run = (seed: number) =>
      collect(
        mixWeighted(
          [
            { items: counter('a', 50), weight: 1 },
            { items: counter('b', 50), weight: 1 },
          ],
          { seed },
        ),
      );
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect((await run(4)).map((x) => x.part)).not.toEqual(a.map((x) => x.part));
  });

  it('keeps each part in its own order and draws in proportion to the weights', async () => {
    const mixed = await collect(
      mixWeighted(
        [
          { items: counter('a', 100_000), weight: 3 },
          { items: counter('b', 100_000), weight: 1 },
        ],
        { seed: 0 },
      ),
    );
    const fromA = mixed.filter((x) => x.part === 0).map((x) => x.item);
    expect(fromA).toEqual(fromA.map((_, i) => `a${i}`));
    // stops when b (weight 1/4) runs out, after ~100,000 draws from b and ~300,000 wanted from a; a runs out first.
    const share = fromA.length / mixed.length;
    expect(share).toBeGreaterThan(0.74);
    expect(share).toBeLessThan(0.76);
  });

  it('follows the documented rule: u from MT19937(seed), first cumulative share above u', async () => {
    // seed 0 draws u = 0.5488, 0.7152, 0.6028, 0.5449, 0.4237 (numpy random_sample): with weights 1:1 → b, b, b, b, a
    const mixed = await collect(
      mixWeighted(
        [
          { items: counter('a', 9), weight: 1 },
          { items: counter('b', 9), weight: 1 },
        ],
        { seed: 0 },
      ),
    );
    expect(mixed.slice(0, 5).map((x) => x.item)).toEqual(['b0', 'b1', 'b2', 'b3', 'a0']);
  });

  it('stops at the first exhausted part by default, or drains the others', async () => {
    const parts = () => [
      { items: items('a0'), weight: 1 },
      { items: items('b0', 'b1', 'b2', 'b3', 'b4', 'b5'), weight: 1 },
    ];
    // u = 0.5488, 0.7152, 0.6028, 0.5449, 0.4237, 0.6459, 0.4376: a is found empty at the 7th draw
    const first = await collect(mixWeighted(parts(), { seed: 0 }));
    expect(first.map((x) => x.item)).toEqual(['b0', 'b1', 'b2', 'b3', 'a0', 'b4']);
    const all = await collect(mixWeighted(parts(), { seed: 0, stopping: 'drop_exhausted' }));
    expect(all.map((x) => x.item).sort()).toEqual(['a0', 'b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  });

  it('skips zero weights and rejects bad ones', async () => {
    const only = await collect(
      mixWeighted(
        [
          { items: items(1, 2), weight: 0 },
          { items: items(3, 4), weight: 2 },
        ],
        { seed: 1 },
      ),
    );
    expect(only.map((x) => x.item)).toEqual([3, 4]);
    await expect(mixWeighted([], { seed: 0 }).next()).rejects.toThrow(/no parts/);
    await expect(mixWeighted([{ items: items(1), weight: -1 }], { seed: 0 }).next()).rejects.toThrow(
      /part 0 has weight -1/,
    );
    await expect(mixWeighted([{ items: items(1), weight: 0 }], { seed: 0 }).next()).rejects.toThrow(
      /every weight is 0/,
    );
  });
});

describe('mixedSource', () => {
  it('interleaves documents of several datasets with prefixed ids', async () => {
    const txt = openDataset(fixture('txt-folder'));
    const jsonl = openDataset(fixture('docs.jsonl'));
    const mixed = mixedSource(
      [
        { source: txt, weight: 1 },
        { source: jsonl, weight: 1 },
      ],
      { seed: 0, stopping: 'drop_exhausted' },
    );
    expect(mixed.kind).toBe('mixture');
    expect(mixed.files).toHaveLength(4);
    const docs = await collect(mixed.documents());
    expect(docs).toHaveLength(6);
    expect(docs.filter((d) => d.id.startsWith(`${txt.spec}#`)).map((d) => d.id.split('#')[1])).toEqual([
      'a.txt',
      'b.txt',
      'c.txt',
    ]);
    expect(await collect(mixed.documents())).toEqual(docs);
  });
});
