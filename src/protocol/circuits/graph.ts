// An attribution graph as the circuits engine computes it and the app shows it (see
// /shared/specs/dictionaries-and-circuits.md §6): nodes in circuit-tracer's matrix order — active features, error
// nodes (site-major), token embeddings, logits — and the dense adjacency A[target, source] over them.
// The JSON the frontends load (circuit-tracer / Neuronpedia, schema_version 1) is made from this by graph-json.ts.

/** Where a dictionary sits in the replacement model: before (attn, e.g. a Lorsa) or after (mlp) the layer's MLP. */
export type Sublayer = 'attn' | 'mlp';

export type GraphNode =
  | {
      kind: 'feature';
      /** The model layer of the feature's source site (a CLT feature: its encoder's layer). */
      layer: number;
      sublayer: Sublayer;
      pos: number;
      /** The feature's index within its dictionary (a CLT: within its source layer). */
      feature: number;
      /** The feature's activation on the prompt at pos. */
      activation: number;
      /** The dictionary it belongs to (a name in the dictionary set). */
      dictionary: string;
    }
  | { kind: 'error'; layer: number; sublayer: Sublayer; pos: number }
  | { kind: 'embedding'; pos: number; tokenId: number }
  | {
      kind: 'logit';
      pos: number;
      tokenId: number;
      probability: number;
      /** A logit-difference target: the node is logit(tokenId) − logit(contrastTokenId). */
      contrastTokenId?: number;
    };

export interface AttributionGraph {
  /** Nodes in matrix order: features, errors, embeddings, logits. */
  nodes: GraphNode[];
  /** A[t, s] row-major, nodes.length × nodes.length; rows exist only for features and logits (others are 0). */
  adjacency: Float64Array | Float32Array;
  /** The target weights w (the logit probabilities; 1 for feature targets) per node, 0 elsewhere. */
  targetWeights: Float64Array;
  promptIds: number[];
  /** Decoded prompt tokens (for labels). */
  promptTokens: string[];
  /** The model's number of layers (logits sit at layer nLayers). */
  nLayers: number;
  /** The settings it was computed with (lm-saes names). */
  settings: Record<string, unknown>;
}
