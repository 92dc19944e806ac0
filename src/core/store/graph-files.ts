// An attribution graph's full matrix as one safetensors file beside the database: only the rows that exist (features
// and logits; error and embedding rows are zero), in the adjacency's own precision (F32, or F64 for the float64
// mode), with the node list as parallel integer columns. Written atomically; read back into the graph type.
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../tensor/safetensors';
import { viewLittleEndian } from '../tensor/safetensors/little-endian';
import type { AttributionGraph, GraphNode, Sublayer } from '../../protocol/circuits/graph';

export const GRAPH_MATRIX_FORMAT = 'sae-studio-graph';
export const GRAPH_MATRIX_VERSION = '1';

const KINDS: readonly GraphNode['kind'][] = ['feature', 'error', 'embedding', 'logit'];
const SUBLAYERS: readonly Sublayer[] = ['attn', 'mlp'];

const i32 = (values: ArrayLike<number>, shape = [values.length]): TensorToWrite => ({
  dtype: 'I32',
  shape,
  data: Int32Array.from(values),
});

/** The rows of A with a nonzero entry, and those rows packed [rows, n]. */
function nonzeroRows(graph: AttributionGraph): { rows: number[]; packed: Float32Array | Float64Array } {
  const n = graph.nodes.length;
  const a = graph.adjacency;
  const rows: number[] = [];
  for (let t = 0; t < n; t++) if (a.subarray(t * n, (t + 1) * n).some((v) => v !== 0)) rows.push(t);
  const packed = a instanceof Float32Array ? new Float32Array(rows.length * n) : new Float64Array(rows.length * n);
  rows.forEach((t, r) => packed.set(a.subarray(t * n, (t + 1) * n), r * n));
  return { rows, packed };
}

/** Writes the graph to `path` atomically; returns how many rows it kept. */
export function writeGraphMatrix(path: string, graph: AttributionGraph): number {
  const n = graph.nodes.length;
  const { rows, packed } = nonzeroRows(graph);
  const dictionaries = [...new Set(graph.nodes.flatMap((x) => (x.kind === 'feature' ? [x.dictionary] : [])))];
  const nodes = graph.nodes;
  const tensors: Record<string, TensorToWrite> = {
    rows: i32(rows),
    adjacency: { dtype: packed instanceof Float32Array ? 'F32' : 'F64', shape: [rows.length, n], data: packed },
    target_weights: { dtype: 'F64', shape: [n], data: Float64Array.from(graph.targetWeights) },
    node_kind: i32(nodes.map((x) => KINDS.indexOf(x.kind))),
    node_layer: i32(nodes.map((x) => (x.kind === 'feature' || x.kind === 'error' ? x.layer : -1))),
    node_sublayer: i32(
      nodes.map((x) => (x.kind === 'feature' || x.kind === 'error' ? SUBLAYERS.indexOf(x.sublayer) : -1)),
    ),
    node_pos: i32(nodes.map((x) => x.pos)),
    node_index: i32(nodes.map((x) => (x.kind === 'feature' ? x.feature : x.kind === 'error' ? -1 : x.tokenId))),
    node_value: {
      dtype: 'F64',
      shape: [n],
      data: Float64Array.from(nodes, (x) =>
        x.kind === 'feature' ? x.activation : x.kind === 'logit' ? x.probability : 0,
      ),
    },
    node_dictionary: i32(nodes.map((x) => (x.kind === 'feature' ? dictionaries.indexOf(x.dictionary) : -1))),
    prompt_ids: i32(graph.promptIds),
  };
  writeSafetensors(path, tensors, {
    format: GRAPH_MATRIX_FORMAT,
    format_version: GRAPH_MATRIX_VERSION,
    n_layers: String(graph.nLayers),
    dictionaries: JSON.stringify(dictionaries),
    prompt_tokens: JSON.stringify(graph.promptTokens),
    settings: JSON.stringify(graph.settings),
  });
  return rows.length;
}

function nodeAt(
  i: number,
  columns: Record<string, Int32Array>,
  value: Float64Array,
  dictionaries: string[],
): GraphNode {
  const kind = KINDS[columns.node_kind![i]!];
  const pos = columns.node_pos![i]!;
  const index = columns.node_index![i]!;
  const layer = columns.node_layer![i]!;
  const sublayer = SUBLAYERS[columns.node_sublayer![i]!]!;
  switch (kind) {
    case 'feature':
      return {
        kind,
        layer,
        sublayer,
        pos,
        feature: index,
        activation: value[i]!,
        dictionary: dictionaries[columns.node_dictionary![i]!]!,
      };
    case 'error':
      return { kind, layer, sublayer, pos };
    case 'embedding':
      return { kind, pos, tokenId: index };
    case 'logit':
      return { kind, pos, tokenId: index, probability: value[i]! };
    default:
      throw new Error(`node ${i}: unknown node kind ${columns.node_kind![i]}`);
  }
}

/** Reads a file written by writeGraphMatrix back into the graph type (the dense adjacency rebuilt). */
export function readGraphMatrix(path: string): AttributionGraph {
  const file = openSafetensors(path);
  try {
    const meta = file.metadata ?? {};
    if (meta.format !== GRAPH_MATRIX_FORMAT) {
      throw new Error(`${path}: not an SAE Studio graph matrix (format '${meta.format ?? 'none'}')`);
    }
    const float64 = (name: string): Float64Array => viewLittleEndian(new Uint8Array(file.readRaw(name)), Float64Array);
    const columns: Record<string, Int32Array> = {};
    for (const name of ['node_kind', 'node_layer', 'node_sublayer', 'node_pos', 'node_index', 'node_dictionary']) {
      columns[name] = file.readInt32(name);
    }
    const value = float64('node_value');
    const dictionaries = JSON.parse(meta.dictionaries ?? '[]') as string[];
    const n = value.length;
    const nodes = Array.from({ length: n }, (_, i) => nodeAt(i, columns, value, dictionaries));
    const rows = file.readInt32('rows');
    const packed = file.info('adjacency').dtype === 'F64' ? float64('adjacency') : file.readFloat32('adjacency');
    const adjacency = packed instanceof Float64Array ? new Float64Array(n * n) : new Float32Array(n * n);
    rows.forEach((t, r) => adjacency.set(packed.subarray(r * n, (r + 1) * n), t * n));
    return {
      nodes,
      adjacency,
      targetWeights: float64('target_weights'),
      promptIds: [...file.readInt32('prompt_ids')],
      promptTokens: JSON.parse(meta.prompt_tokens ?? '[]') as string[],
      nLayers: Number(meta.n_layers),
      settings: JSON.parse(meta.settings ?? '{}') as Record<string, unknown>,
    };
  } finally {
    file.close();
  }
}
