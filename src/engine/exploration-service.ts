/**
 * The studio service's exploration methods: a dictionary's overview and a random live feature (store queries),
 * feature search by token or text — over the analysis's stored samples through a token index built on the first
 * search and kept while the analysis stays the same, or over a live pass of the model and the dictionary on a typed
 * text (the "try text" machinery) — and the comparison of two dictionaries of the same hook by decoder cosine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { compareDecoders } from '../core/analysis/compare-decoders';
import { loadAnyDictionary } from '../core/dictionary/registry';
import { InputError } from '../core/errors';
import { resolveModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import { getDictionary, getInterpretation, type Store } from '../core/store';
import { DENSE_FREQUENCY, dictionaryOverview, randomLiveFeature } from '../core/store/dictionary-overview';
import { featureGlimpses } from '../core/store/feature-glimpses';
import { SampleTokenIndex } from '../core/store/sample-token-index';
import { ensureBackend, type BackendRequest } from '../core/tensor/backend';
import type { FeatureGlimpse, SearchHit } from '../protocol/exploration';
import type { TokenFeatures } from '../protocol/features';
import { toMetricValues } from '../protocol/metric-values';
import type { StudioServiceImpl } from '../protocol/studio-service';
import type { TokenLabels } from './feature-view';
import { dictionarySummary } from './store-views';

type ExplorationMethods = Pick<
  StudioServiceImpl,
  'dictionaryOverview' | 'randomFeature' | 'searchFeatures' | 'compareDictionaries'
>;

export interface ExplorationDeps {
  store: Store;
  labels: TokenLabels;
  backend?: BackendRequest;
  /** The live pass: the service's "try text" (which features fire on each token of a text). */
  tryText: () => Pick<StudioServiceImpl, 'featuresOnText'>;
}

/** Tokens shown before and after a hit. */
const SNIPPET_BEFORE = 10;
const SNIPPET_AFTER = 4;
/** Features per token kept from the live pass. */
const LIVE_TOP_FEATURES = 32;

export function explorationMethods(deps: ExplorationDeps): ExplorationMethods {
  const { store, labels } = deps;
  const indexes = new Map<string, SampleTokenIndex>();
  const tokenizers = new Map<string, ModelTokenizer>();

  function modelOf(dictionary: string): string {
    const model = getDictionary(store, dictionary).modelName;
    if (!model) throw new InputError(`dictionary '${dictionary}' records no model to tokenize the query with`);
    return model;
  }

  function tokenize(model: string, query: string): number[] {
    let t = tokenizers.get(model);
    if (!t) tokenizers.set(model, (t = ModelTokenizer.load(resolveModel(model).dir)));
    return query === '' ? [] : t.encode(query, { addSpecialTokens: false });
  }

  function snippet(model: string, tokens: ArrayLike<number>, position: number): SearchHit['snippet'] {
    const start = Math.max(0, position - SNIPPET_BEFORE);
    const ids = Array.from(tokens).slice(start, Math.min(tokens.length, position + SNIPPET_AFTER + 1));
    return { tokens: labels.strings(model, ids), highlight: position - start };
  }

  function tokenIndex(dictionary: string, analysis?: string): { index: SampleTokenIndex | null; ms: number } {
    const key = `${dictionary}\u0000${analysis ?? ''}`;
    const uid = SampleTokenIndex.currentUid(store, dictionary, analysis);
    const kept = indexes.get(key);
    if (kept && kept.analysisUid === uid) return { index: kept, ms: 0 };
    const t0 = performance.now();
    const index = SampleTokenIndex.build(store, dictionary, analysis);
    if (index) indexes.set(key, index);
    return { index, ms: performance.now() - t0 };
  }

  return {
    dictionaryOverview: async ({ dictionary, analysis }) => {
      const o = dictionaryOverview(store, dictionary, analysis);
      return {
        dictionary: o.dictionary,
        analysis: o.analysis?.name ?? null,
        nAnalyzedTokens: o.analysis?.nAnalyzedTokens ?? null,
        nFeatures: o.nFeatures,
        dead: o.dead,
        dense: o.dense,
        denseFrequency: DENSE_FREQUENCY,
        logFrequency: o.logFrequency,
        maxActivation: o.maxActivation,
        metrics: o.metrics ? toMetricValues(o.metrics) : null,
      };
    },
    randomFeature: async ({ dictionary, analysis }) => ({
      index: randomLiveFeature(store, dictionary, Math.random(), analysis),
    }),
    searchFeatures: async (request) => {
      const model = modelOf(request.dictionary);
      const query = tokenize(model, request.query);
      const queryTokens = labels.strings(model, query);
      const interpretation = (i: number) => getInterpretation(store, request.dictionary, i)?.text ?? null;
      if (request.source === 'text') {
        if (!request.text) throw new InputError("search: source 'text' needs the text to run the model on");
        const t0 = performance.now();
        const { tokens: rows } = await deps
          .tryText()
          .featuresOnText({ dictionary: request.dictionary, text: request.text, topFeatures: LIVE_TOP_FEATURES });
        const hits = liveHits(rows, query, request.limit).map((h) => ({
          ...h,
          snippet: snippet(
            model,
            rows.map((r) => r.tokenId),
            h.position,
          ),
          interpretation: interpretation(h.index),
        }));
        return { queryTokens, analysis: null, hits, indexMs: 0, searchMs: performance.now() - t0 };
      }
      if (query.length === 0) throw new InputError('search: the query is empty; type a token or a text');
      const { index, ms } = tokenIndex(request.dictionary, request.analysis);
      if (!index) throw new InputError(`dictionary '${request.dictionary}' has no analysis to search yet`);
      const t0 = performance.now();
      const hits = index.search(query, request.limit).map((h) => ({
        index: h.feature,
        maxActivation: h.maxActivation,
        hits: h.hits,
        contextIndex: h.contextIndex,
        snippet: snippet(model, index.context(h.contextIndex) ?? [], h.position),
        interpretation: interpretation(h.feature),
      }));
      return { queryTokens, analysis: index.analysisName, hits, indexMs: ms, searchMs: performance.now() - t0 };
    },
    compareDictionaries: (request) => compareDictionaries(store, labels, deps.backend, request),
  };
}

type CompareRequest = Parameters<StudioServiceImpl['compareDictionaries']>[0];

/** The comparison of two dictionaries of one hook, with a glimpse of each feature listed. */
async function compareDictionaries(
  store: Store,
  labels: TokenLabels,
  backend: BackendRequest | undefined,
  { a, b, threshold, limit }: CompareRequest,
): ReturnType<StudioServiceImpl['compareDictionaries']> {
  const t0 = performance.now();
  const [da, db] = [dictionarySummary(getDictionary(store, a)), dictionarySummary(getDictionary(store, b))];
  if (da.hookPointOut !== db.hookPointOut)
    throw new InputError(
      `dictionaries '${a}' (${da.hookPointOut ?? 'no hook'}) and '${b}' (${db.hookPointOut ?? 'no hook'}) write different hooks; compare dictionaries of the same hook`,
    );
  await ensureBackend(backend ?? 'auto');
  const [WA, WB] = [decoderOf(a, da.path), decoderOf(b, db.path)];
  const c = await compareDecoders(WA, WB, { threshold }).finally(() => tf.dispose([WA, WB]));
  const mutual = c.mutual.slice(0, limit);
  const splits = c.splits.slice(0, limit);
  const newInB = c.newInB.slice(0, limit);
  const goneFromA = c.goneFromA.slice(0, limit);
  const ga = glimpse(store, labels, a, da.modelName, [
    ...mutual.map((p) => p.a),
    ...splits.map((s) => s.a),
    ...goneFromA.map((g) => g.a),
  ]);
  const gb = glimpse(store, labels, b, db.modelName, [
    ...mutual.map((p) => p.b),
    ...splits.flatMap((s) => s.children.map((x) => x.b)),
    ...newInB.map((n) => n.b),
  ]);
  const A = (i: number) => ga.get(i)!;
  const B = (i: number) => gb.get(i)!;
  let matchedInB = 0;
  for (const cos of c.bToA.cosine) if (cos >= threshold) matchedInB += 1;
  return {
    a: { name: a, dSae: WA.shape[0], hook: da.hookPointOut ?? '' },
    b: { name: b, dSae: WB.shape[0], hook: db.hookPointOut ?? '' },
    threshold,
    counts: {
      mutual: c.mutual.length,
      splits: c.splits.length,
      newInB: c.newInB.length,
      goneFromA: c.goneFromA.length,
      matchedInB,
    },
    mutual: mutual.map((p) => ({ a: A(p.a), b: B(p.b), cosine: p.cosine })),
    splits: splits.map((s) => ({ a: A(s.a), children: s.children.map((x) => ({ b: B(x.b), cosine: x.cosine })) })),
    newInB: newInB.map((n) => ({ b: B(n.b), bestA: n.bestA, cosine: n.cosine })),
    goneFromA: goneFromA.map((g) => ({ a: A(g.a), bestB: g.bestB, cosine: g.cosine })),
    seconds: (performance.now() - t0) / 1000,
  };
}

function glimpse(
  store: Store,
  labels: TokenLabels,
  dictionary: string,
  model: string | null,
  indices: number[],
): Map<number, FeatureGlimpse> {
  const data = featureGlimpses(store, dictionary, indices);
  return new Map(
    [...data].map(([i, g]) => [
      i,
      {
        index: i,
        interpretation: g.interpretation,
        frequency: g.frequency,
        topTokens: labels.strings(model, g.topTokenIds),
      },
    ]),
  );
}

/** The dictionary's decoder W_D [d_sae, d_model] as a tensor; an InputError for a kind without one such matrix. */
function decoderOf(name: string, dir: string): tf.Tensor2D {
  const W = loadAnyDictionary(dir).params.W_D;
  if (!W || W.shape.length !== 2)
    throw new InputError(
      `dictionary '${name}': no two-dimensional decoder W_D to compare (its kind keeps its decoder otherwise)`,
    );
  return tf.tensor2d(W.data, [W.shape[0]!, W.shape[1]!]);
}

/** Per feature, the largest activation of the live pass at the positions where the text reads the query. */
function liveHits(
  rows: readonly TokenFeatures[],
  query: readonly number[],
  limit: number,
): { index: number; maxActivation: number; hits: number; contextIndex: null; position: number }[] {
  const best = new Map<
    number,
    { index: number; maxActivation: number; hits: number; contextIndex: null; position: number }
  >();
  rows.forEach((row, p) => {
    const start = p - query.length + 1;
    if (start < 0 || !query.every((t, j) => rows[start + j]?.tokenId === t)) return;
    for (const f of row.features) {
      if (!(f.activation > 0)) continue;
      const seen = best.get(f.index);
      if (!seen)
        best.set(f.index, { index: f.index, maxActivation: f.activation, hits: 1, contextIndex: null, position: p });
      else {
        seen.hits += 1;
        if (f.activation > seen.maxActivation) Object.assign(seen, { maxActivation: f.activation, position: p });
      }
    }
  });
  return [...best.values()].sort((x, y) => y.maxActivation - x.maxActivation || x.index - y.index).slice(0, limit);
}
