/**
 * Stored attribution graphs for the Circuits page: list, open (with the dictionaries whose features its nodes are,
 * so that the view can show their cards) and import. A graph's dictionaries are those of the store in the lm-saes
 * series named by the graph's `scan`, each placed in the replacement model by its hook points: a Lorsa at
 * blocks.L.hook_attn_out is layer L's attention; a transcoder writing blocks.L.hook_mlp_out is layer L's MLP; a
 * CLT covers the MLP of every layer it reads.
 */
import type { StudioHome } from '../core/home';
import { listDictionaries, type Dictionary, type Store } from '../core/store';
import { listGraphFiles, readGraphFile, writeGraphFile } from '../core/store/graph-files';
import {
  GraphJsonSchema,
  type GraphDictionary,
  type GraphJson,
  type GraphRecord,
  type GraphSummary,
} from '../protocol/graphs';
import { hookLayer } from '../protocol/hook-names';

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Where a dictionary sits in a replacement model, from its config's hook points (none: it replaces nothing). */
export function dictionarySites(d: Dictionary): GraphDictionary[] {
  const c = d.config;
  const type = text(c.sae_type) ?? d.saeType;
  if (type === 'clt') {
    const layers = texts(c.hook_points_in).map(hookLayer);
    return layers.filter((l) => l !== null).map((layer) => ({ layer, sublayer: 'mlp' as const, name: d.name }));
  }
  const out = text(c.hook_point_out) ?? text(c.hook_point_in);
  const layer = out === null ? null : hookLayer(out);
  if (out === null || layer === null) return [];
  if (type === 'lorsa' || out.endsWith('hook_attn_out')) return [{ layer, sublayer: 'attn', name: d.name }];
  if (out.endsWith('hook_mlp_out') || type === 'molt' || text(c.hook_point_in) !== out)
    return [{ layer, sublayer: 'mlp', name: d.name }];
  return [];
}

export function graphDictionaries(store: Store, scan: string): GraphDictionary[] {
  return listDictionaries(store, { series: scan }).flatMap(dictionarySites);
}

export function listGraphs(home: StudioHome): GraphSummary[] {
  return listGraphFiles(home);
}

export function openGraph(store: Store, home: StudioHome, slug: string): GraphRecord {
  const { summary, graph } = readGraphFile(home, slug);
  // Checked when it was stored; parsed again so that the record carries the schema's defaults.
  const parsed: GraphJson = GraphJsonSchema.parse(graph);
  return { summary, graph: parsed, dictionaries: graphDictionaries(store, summary.scan) };
}

export function importGraph(home: StudioHome, graph: GraphJson, slug?: string): GraphSummary {
  return writeGraphFile(home, graph, { slug, origin: 'imported' });
}
