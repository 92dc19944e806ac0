// "Which features are most active on ` Washington`", answered from an analysis's stored samples: one pass over
// every sample of the analysis (its sparse positions and activations, and its context's tokens) builds an index
// from token id to the (feature, activation, context, position) entries where that token carries the activation;
// a query — one token or a sequence ending at the active position — then reads one token's list. The index is
// built once per analysis and kept by the caller (the engine caches it by the analysis's uid).
import { InputError } from '../errors';
import { chooseAnalysisRow } from './analyses';
import { arrayReader } from './array-files';
import { float32FromBlob, int32FromBlob } from './codec';
import type { Store } from './database';
import { requireDictionaryRow } from './dictionaries';

/** Entries per token, stride 4: feature, activation, context index, position. */
const STRIDE = 4;

export interface TokenSearchHit {
  feature: number;
  /** The largest activation on the query among the feature's stored samples. */
  maxActivation: number;
  /** How many stored activations matched. */
  hits: number;
  /** Where the largest one is: its context (the sample's id in deep links) and the position in it. */
  contextIndex: number;
  position: number;
}

export class SampleTokenIndex {
  private constructor(
    /** The analysis's uid: a new analysis under the same name is another index. */
    readonly analysisUid: string,
    readonly analysisName: string,
    private readonly byToken: Map<number, number[]>,
    private readonly contexts: Map<number, Int32Array>,
    readonly entries: number,
  ) {}

  /** Builds the index of a dictionary's analysis ('default', else the most recent); null without an analysis. */
  static build(store: Store, dictionary: string, analysis?: string): SampleTokenIndex | null {
    return store.db.transaction(() => buildNow(store, dictionary, analysis)).deferred();
  }

  /** The analysis's uid without building: whether a kept index is still current. */
  static currentUid(store: Store, dictionary: string, analysis?: string): string | null {
    return chooseAnalysisRow(store.db, requireDictionaryRow(store.db, dictionary), analysis)?.uid ?? null;
  }

  static fromParts(
    uid: string,
    name: string,
    byToken: Map<number, number[]>,
    contexts: Map<number, Int32Array>,
  ): SampleTokenIndex {
    let entries = 0;
    for (const list of byToken.values()) entries += list.length / STRIDE;
    return new SampleTokenIndex(uid, name, byToken, contexts, entries);
  }

  /** The context's tokens (for showing a hit in its text). */
  context(contextIndex: number): Int32Array | undefined {
    return this.contexts.get(contextIndex);
  }

  /**
   * Features whose stored samples are active where the context reads `tokens` (the activation at the sequence's
   * last token), by largest activation; at most `limit`.
   */
  search(tokens: readonly number[], limit: number): TokenSearchHit[] {
    if (tokens.length === 0) throw new InputError('search: the query has no tokens');
    const last = tokens[tokens.length - 1]!;
    const list = this.byToken.get(last) ?? [];
    const best = new Map<number, TokenSearchHit>();
    for (let i = 0; i < list.length; i += STRIDE) {
      const [feature, activation, contextIndex, position] = [list[i]!, list[i + 1]!, list[i + 2]!, list[i + 3]!];
      if (tokens.length > 1 && !endsWith(this.contexts.get(contextIndex), position, tokens)) continue;
      const seen = best.get(feature);
      if (!seen) best.set(feature, { feature, maxActivation: activation, hits: 1, contextIndex, position });
      else {
        seen.hits += 1;
        if (activation > seen.maxActivation) Object.assign(seen, { maxActivation: activation, contextIndex, position });
      }
    }
    return [...best.values()]
      .sort((a, b) => b.maxActivation - a.maxActivation || a.feature - b.feature)
      .slice(0, limit);
  }
}

/** Whether `ctx` reads `tokens` in the positions ending at `position`. */
function endsWith(ctx: Int32Array | undefined, position: number, tokens: readonly number[]): boolean {
  if (!ctx) return false;
  const start = position - tokens.length + 1;
  if (start < 0) return false;
  for (let j = 0; j < tokens.length; j++) if (ctx[start + j] !== tokens[j]) return false;
  return true;
}

interface SampleScanRow {
  feature_id: number;
  context_idx: number;
  max_activation: number;
  positions: Buffer | null;
  activations: Buffer | null;
  arrays_ref: string | null;
}

function buildNow(store: Store, dictionary: string, analysisName?: string): SampleTokenIndex | null {
  const db = store.db;
  const analysis = chooseAnalysisRow(db, requireDictionaryRow(db, dictionary), analysisName);
  if (!analysis) return null;
  const arrays = arrayReader(store.dir);
  try {
    const contexts = new Map<number, Int32Array>();
    const ctxRows = db
      .prepare('SELECT context_idx, tokens, tokens_ref FROM contexts WHERE analysis_id = ?')
      .iterate(analysis.id) as Iterable<{ context_idx: number; tokens: Buffer | null; tokens_ref: string | null }>;
    for (const c of ctxRows) {
      const where = `context ${c.context_idx}`;
      contexts.set(c.context_idx, c.tokens ? int32FromBlob(c.tokens, where) : arrays.readInt32(c.tokens_ref ?? ''));
    }
    const byToken = new Map<number, number[]>();
    // The same sample of a feature in two samplings (top and a quantile band: same context, same activations) is
    // counted once: the largest activation of each (feature, context) pair seen so far tells a repeat.
    const seen = new Map<number, number[]>();
    const featureOf = new Map<number, number>();
    for (const f of db
      .prepare('SELECT id, feature_index FROM features WHERE analysis_id = ?')
      .iterate(analysis.id) as Iterable<{ id: number; feature_index: number }>)
      featureOf.set(f.id, f.feature_index);
    const rows = db
      .prepare(
        'SELECT feature_id, context_idx, max_activation, positions, activations, arrays_ref FROM feature_samples WHERE analysis_id = ?',
      )
      .iterate(analysis.id) as Iterable<SampleScanRow>;
    for (const r of rows) {
      const feature = featureOf.get(r.feature_id) ?? -1;
      const where = `feature ${feature}`;
      const pair = feature * 2 ** 26 + r.context_idx;
      const maxima = seen.get(pair);
      if (maxima?.includes(r.max_activation)) continue;
      if (maxima) maxima.push(r.max_activation);
      else seen.set(pair, [r.max_activation]);
      const positions = r.positions
        ? int32FromBlob(r.positions, where)
        : arrays.readInt32(`${r.arrays_ref ?? ''}.positions`);
      const values = r.activations
        ? float32FromBlob(r.activations, where)
        : arrays.readFloat32(`${r.arrays_ref ?? ''}.activations`);
      const ctx = contexts.get(r.context_idx);
      if (!ctx) continue;
      for (let j = 0; j < positions.length; j++) {
        const v = values[j]!;
        if (!(v > 0)) continue;
        const token = ctx[positions[j]!]!;
        let list = byToken.get(token);
        if (!list) byToken.set(token, (list = []));
        list.push(feature, v, r.context_idx, positions[j]!);
      }
    }
    return SampleTokenIndex.fromParts(analysis.uid, analysis.name, byToken, contexts);
  } finally {
    arrays.close();
  }
}
