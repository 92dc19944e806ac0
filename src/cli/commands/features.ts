// `sae-studio features` and `sae-studio feature`: a dictionary's analysed features from the local store, as a
// table or JSON, and one feature's statistics, logits and samples with the activating tokens highlighted.
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { resolveModel } from '../../core/lm/load-model';
import { ModelTokenizer } from '../../core/lm/tokenizer';
import { FEATURE_SORTS, getDictionary, getFeature, listFeatures, openStore, type FeatureSort } from '../../core/store';
import { requireOption, type Command } from '../command';
import { positiveInt } from './lm-forward';
import { renderSample } from '../render-tokens';
import type { FeatureKindData } from '../../protocol/features';

export const featuresCommand: Command = {
  name: 'features',
  summary: "List a dictionary's analysed features (frequency, max activation, top logits).",
  usage: 'features --dictionary NAME [--sort index|frequency|max] [--limit N] [--offset N] [--search TEXT] [--json]',
  options: {
    dictionary: { type: 'string', valueName: 'NAME', help: 'dictionary name in the store' },
    sort: { type: 'string', valueName: 'KEY', help: `one of ${FEATURE_SORTS.join(', ')} (default index)` },
    limit: { type: 'string', valueName: 'N', help: 'features to show (default 50; with --json: all)' },
    offset: { type: 'string', valueName: 'N', help: 'skip this many' },
    search: { type: 'string', valueName: 'TEXT', help: 'only features whose interpretation contains TEXT' },
    json: { type: 'boolean', help: 'print a JSON array' },
  },
  async run(values) {
    const store = openStore({ dir: studioHome().root, readonly: false });
    try {
      const sort = (values.sort as string | undefined) ?? 'index';
      if (!(FEATURE_SORTS as readonly string[]).includes(sort))
        throw new InputError(`--sort is '${sort}', expected one of ${FEATURE_SORTS.join(', ')}`);
      const dictionary = requireOption(this, values, 'dictionary');
      const limit =
        values.limit === undefined
          ? values.json
            ? Number.MAX_SAFE_INTEGER
            : 50
          : positiveInt(values.limit as string, '--limit');
      const offset = values.offset === undefined ? 0 : Number(values.offset);
      const items = [];
      let total = 0;
      for (let at = offset; items.length < limit;) {
        const page = listFeatures(store, dictionary, {
          sort: sort as FeatureSort,
          limit: Math.min(1000, limit - items.length),
          offset: at,
          search: values.search as string | undefined,
        });
        total = page.total;
        if (page.analysis === null)
          throw new InputError(
            `dictionary '${dictionary}' has no analysis yet; run: sae-studio analyze --dictionary ${dictionary}`,
          );
        items.push(...page.items);
        at += page.items.length;
        if (page.items.length === 0 || at >= page.total) break;
      }
      if (values.json) {
        const out = items.map((f) => ({
          index: f.index,
          frequency: f.frequency,
          max_activation: f.maxActivation,
          mean_activation: f.meanActivation,
          act_count: f.actCount,
          top_logits: f.topLogits.map((l) => ({ token: l.token, token_id: l.tokenId, logit: l.logit })),
          n_samples: f.nSamples,
          interpretation: f.interpretation,
          bookmarked: f.bookmarked,
        }));
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return;
      }
      const lines = [
        `${dictionary}: ${total} features (sorted by ${sort})`,
        `${'index'.padStart(6)}  ${'freq'.padStart(9)}  ${'max'.padStart(8)}  top logits`,
      ];
      for (const f of items) {
        const logits = f.topLogits
          .slice(0, 5)
          .map((l) => JSON.stringify(l.token))
          .join(' ');
        lines.push(
          `${String(f.index).padStart(6)}  ${f.frequency.toExponential(2).padStart(9)}  ${f.maxActivation.toFixed(3).padStart(8)}  ${logits}${f.interpretation ? `  — ${f.interpretation}` : ''}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      store.db.close();
    }
  },
};

export const featureCommand: Command = {
  name: 'feature',
  summary:
    'One feature: statistics, histogram, logits, and its top and quantile samples with the activating tokens highlighted.',
  usage: 'feature NAME INDEX [--json] [--samples N]',
  positionals: 2,
  options: {
    json: { type: 'boolean', help: 'print one JSON object' },
    samples: { type: 'string', valueName: 'N', help: 'samples shown per sampling in the terminal (default 5)' },
  },
  async run(values, positionals) {
    const [name, indexArg] = positionals;
    if (!name || indexArg === undefined)
      throw new InputError("expected a dictionary name and a feature index (see 'sae-studio feature --help')");
    const index = Number(indexArg);
    if (!Number.isInteger(index) || index < 0)
      throw new InputError(`feature index '${indexArg}' is not a non-negative integer`);
    const home = studioHome();
    const store = openStore({ dir: home.root });
    try {
      const f = getFeature(store, name, index);
      if (!f.stats)
        throw new InputError(
          `dictionary '${name}' has no analysis covering feature ${index}; run: sae-studio analyze --dictionary ${name}`,
        );
      const dict = getDictionary(store, name);
      const tokenizer = ModelTokenizer.load(resolveModel(dict.modelName ?? 'pdlm-4l-256').dir);
      const show = (ids: Int32Array) => tokenizer.tokenStrings(Array.from(ids));
      if (values.json) {
        const out = {
          index,
          dictionary: name,
          kind: f.kind,
          kind_data: f.kindData,
          frequency: f.stats.frequency,
          max_activation: f.stats.maxActivation,
          mean_activation: f.stats.meanActivation,
          act_count: f.stats.actCount,
          histogram: f.stats.histogram,
          top_logits: f.stats.topLogits.map((l) => ({ token: l.token, token_id: l.tokenId, logit: l.logit })),
          bottom_logits: f.stats.bottomLogits.map((l) => ({ token: l.token, token_id: l.tokenId, logit: l.logit })),
          neighbours: f.stats.neighbours,
          interpretation: f.interpretation?.text ?? null,
          samples: f.samplings.flatMap((s) =>
            s.samples.map((x) => {
              const activations = new Array<number>(x.tokens.length).fill(0);
              x.positions.forEach((p, i) => (activations[p] = x.values[i]!));
              return {
                sampling: s.name,
                context_index: x.contextIndex,
                max_activation: x.maxActivation,
                tokens: show(x.tokens),
                activations,
                kind_data: x.kindData,
              };
            }),
          ),
        };
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return;
      }
      const perSampling = values.samples === undefined ? 5 : positiveInt(values.samples as string, '--samples');
      const color = Boolean(process.stdout.isTTY);
      const lines = [
        `feature ${index} of ${name}${f.interpretation ? ` — ${f.interpretation.text}` : ''}`,
        `  frequency ${f.stats.frequency.toExponential(3)} (${f.stats.actCount} tokens), max ${f.stats.maxActivation.toFixed(3)}, mean ${f.stats.meanActivation.toFixed(3)}`,
        `  top logits:    ${f.stats.topLogits
          .slice(0, 8)
          .map((l) => `${JSON.stringify(l.token)} ${l.logit.toFixed(2)}`)
          .join(', ')}`,
        `  bottom logits: ${f.stats.bottomLogits
          .slice(0, 8)
          .map((l) => `${JSON.stringify(l.token)} ${l.logit.toFixed(2)}`)
          .join(', ')}`,
        `  neighbours:    ${f.stats.neighbours
          .slice(0, 5)
          .map((n) => `${n.index} (${n.cosine.toFixed(2)})`)
          .join(', ')}`,
        ...kindLines(f.kindData),
      ];
      for (const s of f.samplings) {
        if (s.samples.length === 0) continue;
        lines.push('', `${s.name}:`);
        for (const x of s.samples.slice(0, perSampling))
          lines.push(
            `  ${x.maxActivation.toFixed(2).padStart(7)}  ${renderSample(show(x.tokens), x.positions, x.values, f.stats.maxActivation, color)}`,
          );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      store.db.close();
    }
  },
};

/** The kind's own data of a feature, one line (none for an SAE). */
function kindLines(d: FeatureKindData | null): string[] {
  if (!d) return [];
  const nums = (v: readonly (number | null)[]) => v.map((x) => (x === null ? '—' : x.toFixed(3))).join(', ');
  switch (d.kind) {
    case 'clt':
      return [
        `  clt: layer ${d.layer}, latent ${d.layerIndex}; decoder norm per target layer: ${nums(d.decoderNorms)}`,
      ];
    case 'crosscoder':
      return [`  crosscoder: decoder norm per head: ${nums(d.decoderNorms)}`];
    case 'lorsa':
      return [`  lorsa: QK head ${d.qkHead}`];
    case 'molt':
      return [`  molt: rank ${d.rank}`];
  }
}
