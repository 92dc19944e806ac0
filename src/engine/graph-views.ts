/**
 * Stored attribution graphs for the Circuits page: list, open (with the dictionaries whose features its nodes are,
 * so that the view can show their cards) and import, over the store's graphs table (core/store/graphs.ts). A
 * graph's dictionaries come from its JSON when SAE Studio wrote it (metadata.sae_studio.dictionaries, by site), else
 * from its dictionary set, each member placed by its hook points: a Lorsa at blocks.L.hook_attn_out is layer L's
 * attention; a transcoder or MoLT writing blocks.L.hook_mlp_out is layer L's MLP; a CLT covers every layer it reads.
 */
import {
  getDictionarySet,
  getGraph,
  importGraph as importStoredGraph,
  listDictionaries,
  listGraphs as listStoredGraphs,
  loadGraphJson,
  type Dictionary,
  type GraphRecord as StoredGraph,
  type Store,
} from '../core/store';
import { InputError } from '../core/errors';
import type { GraphJson } from '../protocol/circuits/graph-json';
import type { GraphDictionary, GraphRecord, GraphSummary } from '../protocol/graphs';
import { hookLayer } from '../protocol/hook-names';

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Where a dictionary sits in a replacement model, from its config's hook points (none: it replaces nothing). */
export function dictionarySites(d: Dictionary, role?: 'attn' | 'mlp'): GraphDictionary[] {
  const c = d.config;
  const type = text(c.sae_type) ?? d.saeType;
  if (type === 'clt') {
    const layers = texts(c.hook_points_in).map(hookLayer);
    return layers.filter((l) => l !== null).map((layer) => ({ layer, sublayer: 'mlp' as const, name: d.name }));
  }
  const out = text(c.hook_point_out) ?? text(c.hook_point_in);
  const layer = out === null ? null : hookLayer(out);
  if (out === null || layer === null) return [];
  if (role === 'attn' || type === 'lorsa' || out.endsWith('hook_attn_out'))
    return [{ layer, sublayer: 'attn', name: d.name }];
  if (role === 'mlp' || out.endsWith('hook_mlp_out') || type === 'molt' || text(c.hook_point_in) !== out)
    return [{ layer, sublayer: 'mlp', name: d.name }];
  return [];
}

/** The dictionaries of a graph's sites (empty when neither its JSON nor its set names any that the store has). */
export function graphDictionaries(store: Store, json: GraphJson, dictionarySet: string | null): GraphDictionary[] {
  const known = new Map(listDictionaries(store).map((d) => [d.name, d]));
  const out: GraphDictionary[] = [];
  for (const [site, name] of Object.entries(json.metadata.sae_studio?.dictionaries ?? {})) {
    const m = /^(\d+)\/(attn|mlp)$/.exec(site);
    if (m && known.has(name)) out.push({ layer: Number(m[1]), sublayer: m[2] as 'attn' | 'mlp', name });
  }
  if (out.length > 0 || dictionarySet === null) return out;
  const set = getDictionarySet(store, dictionarySet);
  return (set?.members ?? []).flatMap((m) => {
    const d = known.get(m.dictionary);
    return d ? dictionarySites(d, m.role) : [];
  });
}

function summary(g: StoredGraph): GraphSummary {
  return {
    name: g.name,
    prompt: g.prompt,
    dictionarySet: g.dictionarySet,
    status: g.status,
    progress: g.progress,
    error: g.error,
    nodes: g.nNodes,
    links: g.nLinks,
    // Only a computed graph is ever unfinished (an import is stored done); a finished one keeps its full matrix.
    origin: g.hasMatrix || g.status !== 'done' ? 'computed' : 'imported',
    createdAt: g.createdAt,
  };
}

export function listGraphs(store: Store): GraphSummary[] {
  return listStoredGraphs(store).map(summary);
}

/** A graph with its JSON, or — while it is computed, or when that failed or was cancelled — its summary alone. */
export function openGraph(store: Store, name: string): GraphRecord {
  const stored = getGraph(store, name);
  if (!stored) throw new InputError(`no graph named '${name}' in ${store.file}`);
  if (stored.status !== 'done') return { summary: summary(stored), graph: null, dictionaries: [] };
  const graph = loadGraphJson(store, name);
  return { summary: summary(stored), graph, dictionaries: graphDictionaries(store, graph, stored.dictionarySet) };
}

/** A name not yet taken: `base`, else `base-2`, `base-3`, … */
export function freeGraphName(store: Store, base: string): string {
  let name = base;
  for (let i = 2; getGraph(store, name); i++) name = `${base}-${i}`;
  return name;
}

/**
 * Stores a graph JSON made elsewhere under `name` (default: its metadata.slug, or 'graph'); a taken name gets a
 * numbered suffix. Its scan becomes its dictionary set when the store has a set of that name.
 */
export function importGraph(store: Store, json: Record<string, unknown>, name?: string): GraphSummary {
  const meta = (json.metadata ?? {}) as { slug?: unknown; scan?: unknown };
  const base = (name ?? text(meta.slug) ?? '').trim() || 'graph';
  const scan = text(meta.scan);
  const dictionarySet = scan !== null && getDictionarySet(store, scan) ? scan : null;
  return summary(importStoredGraph(store, { name: freeGraphName(store, base), json, dictionarySet }));
}
