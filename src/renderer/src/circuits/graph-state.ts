/**
 * What a researcher adds to a graph while exploring it — pinned nodes, supernodes (named groups of pinned nodes),
 * their own node labels — and how it is saved: Neuronpedia's qParams (`pinnedIds`, `supernodes` as
 * [name, …node ids]) plus the labels written into each node's clerp, so that a graph exported here opens with the
 * same state here or in Neuronpedia's frontend.
 */
import type { GraphJson, GraphJsonNode } from '../../../protocol/circuits/graph-json';
import { subgraphJson } from '../../../protocol/circuits/subgraph-json';
import type { FilteredGraph } from './graph-filter';
import type { ViewGraph } from './graph-model';

export interface Supernode {
  name: string;
  members: string[];
}

export interface ExploreState {
  pinned: string[];
  supernodes: Supernode[];
  /** The researcher's own labels, by node id. */
  labels: Record<string, string>;
}

/** The state saved in a graph's qParams (ids the graph does not have are dropped). */
export function stateFromJson(g: ViewGraph): ExploreState {
  const has = (id: string) => g.byId.has(id);
  const pinned = g.json.qParams.pinnedIds.filter(has);
  const supernodes = g.json.qParams.supernodes
    .map(([name = '', ...members]) => ({ name, members: members.filter(has) }))
    .filter((s) => s.members.length > 0);
  return { pinned: [...new Set(pinned)], supernodes, labels: {} };
}

export function togglePin(state: ExploreState, id: string): ExploreState {
  if (!state.pinned.includes(id)) return { ...state, pinned: [...state.pinned, id] };
  // An unpinned node leaves its supernode too; an emptied supernode goes.
  const supernodes = state.supernodes
    .map((s) => ({ ...s, members: s.members.filter((m) => m !== id) }))
    .filter((s) => s.members.length > 0);
  return { ...state, pinned: state.pinned.filter((p) => p !== id), supernodes };
}

/** Groups `members` (pinned nodes) under `name`; a member of another supernode moves to this one. */
export function addSupernode(state: ExploreState, name: string, members: readonly string[]): ExploreState {
  const trimmed = name.trim();
  if (trimmed === '') throw new Error('a supernode needs a name');
  const chosen = members.filter((m) => state.pinned.includes(m));
  if (chosen.length < 2) throw new Error('a supernode groups at least two pinned nodes');
  const taken = new Set(chosen);
  const others = state.supernodes
    .filter((s) => s.name !== trimmed)
    .map((s) => ({ ...s, members: s.members.filter((m) => !taken.has(m)) }))
    .filter((s) => s.members.length > 0);
  return { ...state, supernodes: [...others, { name: trimmed, members: chosen }] };
}

export function removeSupernode(state: ExploreState, name: string): ExploreState {
  return { ...state, supernodes: state.supernodes.filter((s) => s.name !== name) };
}

export function setLabel(state: ExploreState, id: string, label: string): ExploreState {
  const labels = { ...state.labels };
  if (label.trim() === '') delete labels[id];
  else labels[id] = label.trim();
  return { ...state, labels };
}

function qParams(g: ViewGraph, state: ExploreState, pinned: readonly string[]): GraphJson['qParams'] {
  return {
    ...g.json.qParams,
    pinnedIds: [...pinned],
    supernodes: state.supernodes.map((s) => [s.name, ...s.members]),
  };
}

function withLabel(n: GraphJsonNode, state: ExploreState): GraphJsonNode {
  const label = state.labels[n.node_id];
  return label === undefined ? n : { ...n, clerp: label };
}

/** The graph as shown: the nodes and edges the thresholds keep, with the pins, supernodes and labels. */
export function exportShownGraph(g: ViewGraph, shown: FilteredGraph, state: ExploreState, nodeThreshold: number) {
  const json: GraphJson = {
    ...g.json,
    metadata: { ...g.json.metadata, node_threshold: nodeThreshold },
    qParams: qParams(g, state, state.pinned),
    nodes: g.json.nodes.filter((n) => shown.nodes.has(n.node_id)).map((n) => withLabel(n, state)),
    links: shown.links.map((l) => ({ source: l.source, target: l.target, weight: l.weight })),
  };
  return json;
}

/**
 * The pinned subgraph (src/protocol/circuits/subgraph-json.ts): the pinned nodes with the researcher's labels, the
 * links among them, its supernodes, QK contributors outside it kept in qk_only_nodes; metadata.slug gets a
 * `-subgraph` suffix so that it is stored beside the graph it came from.
 */
export function exportSubgraph(g: ViewGraph, state: ExploreState): GraphJson {
  const json = subgraphJson(g.json, state.pinned, {
    supernodes: state.supernodes.map((s) => [s.name, ...s.members]),
    clerps: state.labels,
  });
  return { ...json, metadata: { ...json.metadata, slug: `${g.json.metadata.slug}-subgraph` } };
}

/** Starts a download of `json` as `<name>.json` (a blob link: works in the served page and in Electron). */
export function downloadJson(json: unknown, name: string): void {
  const blob = new Blob([JSON.stringify(json)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
