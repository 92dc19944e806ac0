// The rows' targets (spec §6.3): the top logits cut at a cumulative probability, chosen tokens, one logit
// difference, or chosen features. A logit row explains the demeaned logit before any final softcap, so its
// direction at ln_final's output is W_U[:, tok] − mean_v W_U[:, v] (a difference of two logits needs no demeaning).
import { InputError } from '../errors';
import type { AttributionSettings } from '../../protocol/circuits/attribution-settings';
import type { FrozenState } from './frozen-state';
import type { SourceLayout } from './sources';

export interface LogitTarget {
  tokenId: number;
  /** A logit-difference target: logit(tokenId) − logit(contrastTokenId). */
  contrastTokenId?: number;
  probability: number;
  /** The target weight w (the probability; 1 for a logit difference). */
  weight: number;
  direction: Float64Array;
}

export interface ResolvedTargets {
  logits: LogitTarget[];
  /** Feature targets as indices into layout.features (weight 1 each). */
  features: number[];
}

/** softmax of the last position's real logits. */
export function lastProbabilities(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = logits.map((v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

/** The top max_n_logits tokens, cut after the first K whose cumulative probability reaches desired_logit_prob. */
export function selectLogits(
  probs: Float64Array,
  maxN: number,
  desired: number,
): { tokenId: number; probability: number }[] {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
  const top = order.slice(0, maxN);
  const out: { tokenId: number; probability: number }[] = [];
  let cum = 0;
  for (const tokenId of top) {
    out.push({ tokenId, probability: probs[tokenId]! });
    cum += probs[tokenId]!;
    if (cum >= desired) break;
  }
  return out;
}

/** W_U[:, tok] − mean_v W_U[:, v] (or − W_U[:, contrast]) [d]. */
export function logitDirection(state: FrozenState, tok: number, contrast?: number): Float64Array {
  const { d } = state;
  const V = state.rm.cfg.dVocab;
  const out = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    const row = state.W_U.subarray(c * V, (c + 1) * V);
    let sub: number;
    if (contrast === undefined) {
      sub = 0;
      for (let v = 0; v < V; v++) sub += row[v]!;
      sub /= V;
    } else sub = row[contrast]!;
    out[c] = row[tok]! - sub;
  }
  return out;
}

function checkToken(id: number, V: number, field: string): void {
  if (id >= V)
    throw new InputError(`targets: field '${field}': token id ${id} is outside the vocabulary (0..${V - 1})`);
}

/** Resolves the settings' targets against the prompt's state and its active features. */
export function resolveTargets(
  state: FrozenState,
  layout: SourceLayout,
  settings: AttributionSettings,
): ResolvedTargets {
  const probs = lastProbabilities(state.lastLogits);
  const V = state.rm.cfg.dVocab;
  const logit = (tokenId: number, weight: number, contrast?: number): LogitTarget => ({
    tokenId,
    ...(contrast === undefined ? {} : { contrastTokenId: contrast }),
    probability: probs[tokenId]!,
    weight,
    direction: logitDirection(state, tokenId, contrast),
  });
  const t = settings.targets;
  switch (t.type) {
    case 'top-logits':
      return {
        logits: selectLogits(probs, settings.max_n_logits, settings.desired_logit_prob).map((x) =>
          logit(x.tokenId, x.probability),
        ),
        features: [],
      };
    case 'tokens':
      t.ids.forEach((id, i) => checkToken(id, V, `ids[${i}]`));
      return { logits: [...new Set(t.ids)].map((id) => logit(id, probs[id]!)), features: [] };
    case 'logit-difference':
      checkToken(t.positive, V, 'positive');
      checkToken(t.negative, V, 'negative');
      if (t.positive === t.negative)
        throw new InputError(`targets: fields 'positive' and 'negative' are both token ${t.positive}`);
      return { logits: [logit(t.positive, 1, t.negative)], features: [] };
    case 'features':
      return {
        logits: [],
        features: t.features.map((f, i) => {
          const site = state.rm.sites.findIndex((s) => s.name === f.dictionary);
          if (site < 0)
            throw new InputError(
              `targets: features[${i}]: no dictionary '${f.dictionary}' in the replacement model (${state.rm.sites.map((s) => s.name).join(', ')})`,
            );
          const slot = state.rm.sites[site]!.slots.findIndex((s) => s.layer === f.layer);
          const col = layout.features.findIndex(
            (x) => x.site === site && x.slot === slot && x.pos === f.pos && x.index === f.feature,
          );
          if (col < 0)
            throw new InputError(
              `targets: features[${i}]: feature ${f.feature} of '${f.dictionary}' at layer ${f.layer}, position ${f.pos} is not an active feature node on this prompt`,
            );
          return col;
        }),
      };
  }
}
