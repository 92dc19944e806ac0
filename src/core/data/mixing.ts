// Weighted, seeded interleaving of several sources (documents, windows, anything iterable). Rule: before each
// item, draw u in [0, 1) from MT19937(seed) (genrand_res53) and take the next item of the first still-active
// part whose cumulative share of the active weights exceeds u. `first_exhausted` (the default, as in Hugging
// Face interleave_datasets) stops as soon as the chosen part has no more items; `drop_exhausted` drops that
// part, renormalises the rest and goes on until every part is empty.
import { InputError } from '../errors';
import { Mt19937 } from './random/mt19937';
import type { DatasetSource, Document } from './sources/dataset-source';

export interface WeightedPart<T> {
  items: AsyncIterable<T>;
  weight: number;
}

export interface MixOptions {
  seed: number;
  stopping?: 'first_exhausted' | 'drop_exhausted';
}

export async function* mixWeighted<T>(
  parts: readonly WeightedPart<T>[],
  opts: MixOptions,
): AsyncGenerator<{ part: number; item: T }> {
  checkWeights(parts.map((p) => p.weight));
  const rng = new Mt19937(opts.seed);
  const entries = parts.map((p, part) => ({ part, weight: p.weight, iterator: p.items[Symbol.asyncIterator]() }));
  const active = entries.filter((e) => e.weight > 0);
  try {
    while (active.length > 0) {
      const slot = pickWeighted(
        active.map((e) => e.weight),
        rng.nextFloat53(),
      );
      const entry = active[slot];
      if (!entry) throw new Error(`pickWeighted: slot ${slot} of ${active.length}`);
      const next = await entry.iterator.next();
      if (!next.done) {
        yield { part: entry.part, item: next.value };
      } else if ((opts.stopping ?? 'first_exhausted') === 'first_exhausted') {
        return;
      } else {
        active.splice(slot, 1);
      }
    }
  } finally {
    await Promise.all(entries.map((e) => e.iterator.return?.()));
  }
}

/** A dataset whose documents interleave those of several sources by weight; ids become `<spec>#<id>`. */
export function mixedSource(
  parts: readonly { source: DatasetSource; weight: number }[],
  opts: MixOptions,
): DatasetSource {
  checkWeights(parts.map((p) => p.weight));
  const stopping = opts.stopping ?? 'first_exhausted';
  return {
    spec: parts.map((p) => `${p.source.spec}*${p.weight}`).join('+'),
    kind: 'mixture',
    files: parts.flatMap((p) => p.source.files),
    settings: {
      seed: opts.seed,
      stopping,
      parts: JSON.stringify(
        parts.map((p) => ({ spec: p.source.spec, kind: p.source.kind, weight: p.weight, settings: p.source.settings })),
      ),
    },
    async *documents(): AsyncIterable<Document> {
      const weighted = parts.map((p) => ({ items: p.source.documents(), weight: p.weight }));
      const specs = parts.map((p) => p.source.spec);
      for await (const { part, item } of mixWeighted(weighted, { seed: opts.seed, stopping })) {
        const spec = specs[part];
        if (spec === undefined) throw new Error(`mixWeighted: part ${part} of ${specs.length}`);
        yield { id: `${spec}#${item.id}`, text: item.text };
      }
    },
  };
}

/** Index of the first weight whose running share of the total exceeds u (u uniform in [0, 1)). */
export function pickWeighted(weights: readonly number[], u: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (const [i, w] of weights.entries()) {
    acc += w / total;
    if (u < acc) return i;
  }
  return weights.length - 1; // rounding: acc may end a hair below 1
}

function checkWeights(weights: readonly number[]): void {
  if (weights.length === 0) throw new InputError('mixture: no parts, expected at least one weighted source');
  weights.forEach((w, i) => {
    if (!Number.isFinite(w) || w < 0)
      throw new InputError(`mixture: part ${i} has weight ${w}, expected a finite number ≥ 0`);
  });
  if (!weights.some((w) => w > 0))
    throw new InputError('mixture: every weight is 0, expected at least one positive weight');
}
