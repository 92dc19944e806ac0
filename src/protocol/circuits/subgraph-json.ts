// The pinned subgraph of a graph JSON, as the frontends' "export subgraph" makes it: only the pinned nodes and
// the links between them, the pins and supernodes in qParams (a supernode is `[label, nodeId, …]`), labels as
// they are in the nodes' clerps. QK-tracing contributors outside the subgraph move to qk_only_nodes, so every id
// the file names still resolves.
import type { GraphJson, GraphJsonNode } from './graph-json';

export interface SubgraphOptions {
  supernodes?: string[][];
  /** Labels to write into the pinned nodes' clerps, by node id. */
  clerps?: Readonly<Record<string, string>>;
}

function withoutQk(node: GraphJsonNode): GraphJsonNode {
  const { qk_tracing_results: _qk, ...rest } = node;
  return rest;
}

export function subgraphJson(json: GraphJson, pinnedIds: readonly string[], options: SubgraphOptions = {}): GraphJson {
  const byId = new Map(json.nodes.map((x) => [x.node_id, x]));
  for (const id of pinnedIds) {
    if (!byId.has(id))
      throw new Error(`subgraph: pinned id ${JSON.stringify(id)} is not a node of graph '${json.metadata.slug}'`);
  }
  const pinned = new Set(pinnedIds);
  for (const group of options.supernodes ?? []) {
    for (const id of group.slice(1)) {
      if (!pinned.has(id))
        throw new Error(`subgraph: supernode '${group[0]}' names ${JSON.stringify(id)}, which is not pinned`);
    }
  }
  const nodes = json.nodes
    .filter((x) => pinned.has(x.node_id))
    .map((x) => ({ ...x, clerp: options.clerps?.[x.node_id] ?? x.clerp }));
  const qkOnly: Record<string, GraphJsonNode> = { ...(json.qk_only_nodes ?? {}) };
  for (const x of nodes) {
    const qk = x.qk_tracing_results;
    if (!qk) continue;
    const named = [
      ...qk.pair_wise_contributors.flatMap(([q, k]) => [q, k]),
      ...qk.top_q_marginal_contributors.map(([id]) => id),
      ...qk.top_k_marginal_contributors.map(([id]) => id),
    ];
    for (const id of named) {
      const node = byId.get(id);
      if (node && !pinned.has(id)) qkOnly[id] ??= withoutQk(node);
    }
  }
  for (const id of Object.keys(qkOnly)) if (pinned.has(id)) delete qkOnly[id];
  const { qk_only_nodes: _previous, ...rest } = json;
  return {
    ...rest,
    qParams: { ...json.qParams, pinnedIds: [...pinned], supernodes: options.supernodes ?? json.qParams.supernodes },
    nodes,
    links: json.links.filter((l) => pinned.has(l.source) && pinned.has(l.target)),
    ...(Object.keys(qkOnly).length > 0 ? { qk_only_nodes: qkOnly } : {}),
  };
}
