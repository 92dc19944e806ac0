// One internal description of a decoder-only transformer, whatever Hugging Face architecture it came from.
export const ARCHITECTURE_NAMES = ['gpt2', 'llama', 'qwen2', 'qwen3', 'gemma2', 'gpt_neox'] as const;
export type ArchitectureName = (typeof ARCHITECTURE_NAMES)[number];

export type ActivationName = 'gelu_new' | 'gelu' | 'silu' | 'relu';
export type NormType = 'layernorm' | 'rmsnorm';

export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface RotaryConfig {
  /** Number of leading head dimensions rotated (GPT-NeoX rotates only a fraction). */
  dim: number;
  theta: number;
  scaling: RopeScaling;
}

export interface ModelConfig {
  architecture: ArchitectureName;
  /** The `model_type` field of config.json. */
  modelType: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  dMlp: number;
  dVocab: number;
  /** Longest sequence the model accepts (n_positions / max_position_embeddings). */
  nCtx: number;
  normType: NormType;
  normEps: number;
  actFn: ActivationName;
  gatedMlp: boolean;
  /** Learned absolute positions (GPT-2) or rotary embeddings. */
  rotary: RotaryConfig | null;
  /** RMSNorm on each query and key head before RoPE (Qwen3). */
  qkNorm: boolean;
  /** GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)). */
  parallelResidual: boolean;
  /** Gemma 2: norms applied to the attention and MLP outputs before they join the residual stream. */
  postNorms: boolean;
  /** Multiplier of q·k (usually dHead^-0.5). */
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** Per layer: the sliding-window size, or null for full causal attention. */
  slidingWindows: (number | null)[];
  /** Gemma multiplies the token embeddings by sqrt(d_model). */
  embedScale: number | null;
  tiedEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
}
