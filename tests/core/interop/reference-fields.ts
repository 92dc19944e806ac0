// Field lists of the files other tools read, copied from their sources, for the export suites to check against.

/**
 * SAELens ≥ 6 cfg.json = SAEConfig.to_dict() (jbloomAus/SAELens, sae_lens/saes/sae.py: SAEConfig's dataclass
 * fields d_in, d_sae, dtype, device, apply_b_dec_to_input, normalize_activations, reshape_activations, metadata,
 * plus `architecture`), with the architecture's own fields: topk_sae.py TopKSAEConfig (k,
 * rescale_acts_by_decoder_norm), transcoder.py TranscoderConfig (d_out, hook_name_out, hook_layer_out,
 * hook_head_index_out); StandardSAEConfig and JumpReLUSAEConfig add none.
 */
export const SAELENS_CFG_FIELDS: Record<string, readonly string[]> & { base: readonly string[] } = {
  base: [
    'architecture',
    'd_in',
    'd_sae',
    'dtype',
    'device',
    'apply_b_dec_to_input',
    'normalize_activations',
    'reshape_activations',
    'metadata',
  ],
  topk: ['k', 'rescale_acts_by_decoder_norm'],
  transcoder: ['d_out', 'hook_name_out', 'hook_layer_out', 'hook_head_index_out'],
  jumprelu_transcoder: ['d_out', 'hook_name_out', 'hook_layer_out', 'hook_head_index_out'],
};

/** SAEMetadata's fields (sae_lens/saes/sae.py). */
export const SAELENS_METADATA_FIELDS: readonly string[] = [
  'model_name',
  'hook_name',
  'model_class_name',
  'hook_layer',
  'hook_head_index',
  'model_from_pretrained_kwargs',
  'prepend_bos',
  'exclude_special_tokens',
  'neuronpedia_id',
  'context_size',
  'seqpos_slice',
  'dataset_path',
  'sae_lens_version',
  'sae_lens_training_version',
];

/**
 * The graph JSON of circuit-tracer's frontend (safety-research/circuit-tracer, circuit_tracer/frontend/graph_models.py:
 * Metadata, QParams, Node; links are {source, target, weight}), which Neuronpedia's graph view loads. Nodes may also
 * carry lm-saes's `qk_tracing_results` (its Lorsa QK tracing, shown by lm-saes's UI), whose contributors that are
 * not nodes of the pruned graph sit in a top-level `qk_only_nodes` (spec §6.6).
 */
export const CIRCUIT_TRACER_GRAPH_FIELDS = {
  top: ['metadata', 'qParams', 'nodes', 'links'],
  topAllowed: ['metadata', 'qParams', 'nodes', 'links', 'qk_only_nodes'],
  metadataRequired: ['slug', 'prompt_tokens', 'prompt', 'schema_version'],
  nodeRequired: ['node_id', 'feature', 'layer', 'ctx_idx', 'feature_type', 'jsNodeId'],
  node: [
    'node_id',
    'feature',
    'layer',
    'ctx_idx',
    'feature_type',
    'token_prob',
    'is_target_logit',
    'run_idx',
    'reverse_ctx_idx',
    'jsNodeId',
    'clerp',
    'influence',
    'activation',
    'qk_tracing_results',
  ],
} as const;
