/**
 * What the view shows at the current slider values. Nodes: Neuronpedia's dynamic slider — keep a node whose
 * cumulative influence is ≤ the node threshold, and always the embeddings, the logits and the pinned nodes. Edges:
 * circuit-tracer's edge score on the shown subgraph (spec §6.5: |A| row-normalised, influence from the logit
 * probabilities, score = Â[t,s]·(I[t] + w[t])), kept while the cumulative score is within the edge threshold.
 * The sums run over the links (sparse): a pruned graph has thousands of nodes, and a dense n × n matrix would not do.
 */
import type { ViewGraph, ViewLink } from './graph-model';

export interface FilterSettings {
  /** In (0, 1]: keep nodes with influence ≤ this. */
  nodeThreshold: number;
  /** In (0, 1]: keep the strongest edges up to this cumulative fraction of the edge score. */
  edgeThreshold: number;
  pinned: ReadonlySet<string>;
}

export interface ScoredLink extends ViewLink {
  score: number;
}

export interface FilteredGraph {
  nodes: Set<string>;
  links: ScoredLink[];
}

export function visibleNodeIds(g: ViewGraph, nodeThreshold: number, pinned: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    const always = n.role === 'embedding' || n.role === 'logit' || pinned.has(n.id);
    if (always || n.influence === null || n.influence <= nodeThreshold) out.add(n.id);
  }
  return out;
}

/** The target weights w: each logit's probability (a graph without probabilities: uniform over its logits). */
export function targetWeights(g: ViewGraph, nodes: ReadonlySet<string>): Map<string, number> {
  const logits = g.nodes.filter((n) => n.role === 'logit' && nodes.has(n.id));
  const known = logits.some((n) => (n.tokenProb ?? 0) > 0);
  return new Map(logits.map((n) => [n.id, known ? (n.tokenProb ?? 0) : 1 / logits.length]));
}

/**
 * Influence on a DAG given as links: I = wÂ + wÂ² + … (spec §6.5), summed until a term vanishes. Â is |weight|
 * divided by the target's sum of |incoming weight|.
 */
export function linkInfluence(links: readonly ViewLink[], w: ReadonlyMap<string, number>): Map<string, number> {
  const rowSum = new Map<string, number>();
  for (const l of links) rowSum.set(l.target, (rowSum.get(l.target) ?? 0) + Math.abs(l.weight));
  const norm = links.map((l) => {
    const s = rowSum.get(l.target) ?? 0;
    return s > 1e-10 ? Math.abs(l.weight) / s : 0;
  });
  const influence = new Map<string, number>();
  let term = new Map(w);
  for (let iter = 0; iter < 1000 && term.size > 0; iter++) {
    const next = new Map<string, number>();
    links.forEach((l, i) => {
      const x = term.get(l.target);
      const a = norm[i] ?? 0;
      if (x !== undefined && x !== 0 && a !== 0) next.set(l.source, (next.get(l.source) ?? 0) + x * a);
    });
    for (const [id, v] of next) influence.set(id, (influence.get(id) ?? 0) + v);
    term = next;
  }
  return influence;
}

/** circuit-tracer's find_threshold: the score at which the descending cumulative fraction first reaches τ. */
export function findThreshold(scores: readonly number[], tau: number): number {
  if (scores.length === 0) return Infinity;
  const sorted = [...scores].sort((a, b) => b - a);
  const total = sorted.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 0;
  let cum = 0;
  for (const s of sorted) {
    cum += s;
    if (cum / total >= tau) return s;
  }
  return sorted[sorted.length - 1] ?? 0;
}

/** Edge scores Â[t,s]·(I[t] + w[t]) over the links among `nodes`. */
export function edgeScores(g: ViewGraph, nodes: ReadonlySet<string>): ScoredLink[] {
  const links = g.links.filter((l) => nodes.has(l.source) && nodes.has(l.target));
  const w = targetWeights(g, nodes);
  const influence = linkInfluence(links, w);
  const rowSum = new Map<string, number>();
  for (const l of links) rowSum.set(l.target, (rowSum.get(l.target) ?? 0) + Math.abs(l.weight));
  return links.map((l) => {
    const s = rowSum.get(l.target) ?? 0;
    const a = s > 1e-10 ? Math.abs(l.weight) / s : 0;
    return { ...l, score: a * ((influence.get(l.target) ?? 0) + (w.get(l.target) ?? 0)) };
  });
}

export function filterGraph(g: ViewGraph, settings: FilterSettings): FilteredGraph {
  const nodes = visibleNodeIds(g, settings.nodeThreshold, settings.pinned);
  const scored = edgeScores(g, nodes);
  const cutoff = findThreshold(
    scored.map((l) => l.score),
    settings.edgeThreshold,
  );
  return { nodes, links: scored.filter((l) => l.score > 0 && l.score >= cutoff) };
}
