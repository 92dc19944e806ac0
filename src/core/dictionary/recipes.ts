// Small examples of every dictionary kind on pdlm-4l-256 (d_model 256, 4 layers, 8 heads of 32), each a few
// minutes on a 2-core CPU: `sae-studio demo --recipe <name>`. The comparisons the issue asks for use matching
// pairs: `clt` against `plt` (four per-layer transcoders with the same width per layer and the same TopK per layer,
// so the same total L0 and width), and `lorsa` against `sae-attn` (an SAE of the same width and k on the same
// hook_attn_out). Every recipe evaluates on held-out windows of the embedded corpus.
import type { TrainConfigInput } from '../../protocol/run-config';

const LAYERS = [0, 1, 2, 3];

/** Run-config fields every recipe shares; `tokens` training tokens in batches of `batch`. */
function base(name: string, tokens: number, batch: number): Partial<TrainConfigInput> {
  return {
    name,
    model: 'pdlm-4l-256',
    dataset: 'pdlm-corpus',
    dataset_split: 'train',
    context_size: 128,
    batch_size: batch,
    total_training_tokens: tokens,
    shuffle_windows: 512,
    lr: 1e-3,
    lr_scheduler_name: 'constantwithwarmup',
    lr_warm_up_steps: 0.05,
    lr_cool_down_steps: 0.2,
    norm_estimation_tokens: 50_000,
    eval_windows: 64,
    log_frequency: 20,
  };
}

export const KIND_RECIPES = ['crosscoder', 'clt', 'plt', 'lorsa', 'sae-attn', 'molt', 'replacement'] as const;
export type KindRecipeName = (typeof KIND_RECIPES)[number];

export interface KindRecipe {
  description: string;
  /** One run config, or several trained one after the other and evaluated together (plt). */
  configs: TrainConfigInput[];
}

export function kindRecipe(name: KindRecipeName, tokens?: number): KindRecipe {
  const t = (n: number) => tokens ?? n;
  switch (name) {
    case 'replacement':
      return replacementRecipe(t);
    case 'crosscoder':
      return {
        description: 'CrossCoder (TopK k 32, 2048 features) across blocks 1–3 hook_resid_post',
        configs: [
          {
            ...base('demo-crosscoder', t(400_000), 1024),
            sae: {
              sae_type: 'crosscoder',
              hook_points: [1, 2, 3].map((l) => `blocks.${l}.hook_resid_post`),
              d_sae: 2048,
              act_fn: 'topk',
              top_k: 32,
            },
          } as TrainConfigInput,
        ],
      };
    case 'clt':
      return {
        description: 'cross-layer transcoder on the four MLPs (1024 features per layer, TopK k 16 per layer)',
        configs: [
          {
            ...base('demo-clt', t(400_000), 1024),
            sae: {
              sae_type: 'clt',
              hook_points_in: LAYERS.map((l) => `blocks.${l}.ln2.hook_normalized`),
              hook_points_out: LAYERS.map((l) => `blocks.${l}.hook_mlp_out`),
              d_sae: 1024,
              act_fn: 'topk',
              top_k: 16,
            },
          } as TrainConfigInput,
        ],
      };
    case 'plt':
      return {
        description: 'four per-layer transcoders on the MLPs (1024 features each, TopK k 16), evaluated together',
        configs: LAYERS.map(
          (l) =>
            ({
              ...base(`demo-plt-${l}`, t(400_000), 1024),
              sae: {
                sae_type: 'sae',
                hook_point_in: `blocks.${l}.ln2.hook_normalized`,
                hook_point_out: `blocks.${l}.hook_mlp_out`,
                d_sae: 1024,
                act_fn: 'topk',
                top_k: 16,
                sparsity_include_decoder_norm: true,
              },
              eval_windows: 0,
            }) as TrainConfigInput,
        ),
      };
    case 'lorsa':
      return {
        description:
          "Lorsa on layer 2 attention (1024 rank-1 OV heads over 8 QK heads of 32 initialised from the layer's heads, TopK k 16)",
        configs: [
          {
            ...base('demo-lorsa', t(300_000), 1024),
            sae: {
              sae_type: 'lorsa',
              hook_point_in: 'blocks.2.ln1.hook_normalized',
              hook_point_out: 'blocks.2.hook_attn_out',
              d_sae: 1024,
              n_qk_heads: 8,
              d_qk_head: 32,
              n_ctx: 256,
              positional_embedding_type: 'none',
              rotary_dim: 32,
              act_fn: 'topk',
              top_k: 16,
            },
            initializer: { initialize_lorsa_with_mhsa: true, initialize_W_D_with_active_subspace: true },
          } as TrainConfigInput,
        ],
      };
    case 'sae-attn':
      return {
        description: 'SAE on blocks.2.hook_attn_out (1024 features, TopK k 16): the Lorsa comparison',
        configs: [
          {
            ...base('demo-sae-attn', t(300_000), 1024),
            sae: {
              sae_type: 'sae',
              hook_point_in: 'blocks.2.hook_attn_out',
              d_sae: 1024,
              act_fn: 'topk',
              top_k: 16,
              sparsity_include_decoder_norm: true,
            },
          } as TrainConfigInput,
        ],
      };
    case 'molt':
      return {
        description: 'MoLT transcoder on the layer-2 MLP (ranks 1/2/4/8 × 512/256/128/64, TopK k 16)',
        configs: [
          {
            ...base('demo-molt', t(400_000), 1024),
            sae: {
              sae_type: 'molt',
              hook_point_in: 'blocks.2.ln2.hook_normalized',
              hook_point_out: 'blocks.2.hook_mlp_out',
              rank_counts: { '1': 512, '2': 256, '4': 128, '8': 64 },
              act_fn: 'topk',
              top_k: 16,
            },
          } as TrainConfigInput,
        ],
      };
  }
}

/** A CLT on every MLP and a Lorsa on every attention layer: the dictionary set the circuits work runs on. */
function replacementRecipe(t: (n: number) => number): KindRecipe {
  return {
    description:
      'replacement model of pdlm-4l-256: a CLT on the four MLPs (512 features per layer, TopK k 16) and a Lorsa on each attention layer (256 OV heads over 8 QK heads of 32 initialised from the layer’s heads, TopK k 8), stored as the dictionary set `replacement`',
    configs: [
      {
        ...base('replacement-clt', t(200_000), 1024),
        sae: {
          sae_type: 'clt',
          hook_points_in: LAYERS.map((l) => `blocks.${l}.ln2.hook_normalized`),
          hook_points_out: LAYERS.map((l) => `blocks.${l}.hook_mlp_out`),
          d_sae: 512,
          act_fn: 'topk',
          top_k: 16,
        },
        eval_windows: 0,
      } as TrainConfigInput,
      ...LAYERS.map(
        (l) =>
          ({
            ...base(`replacement-lorsa-${l}`, t(100_000), 1024),
            sae: {
              sae_type: 'lorsa',
              hook_point_in: `blocks.${l}.ln1.hook_normalized`,
              hook_point_out: `blocks.${l}.hook_attn_out`,
              d_sae: 256,
              n_qk_heads: 8,
              d_qk_head: 32,
              n_ctx: 256,
              positional_embedding_type: 'none',
              rotary_dim: 32,
              act_fn: 'topk',
              top_k: 8,
            },
            initializer: { initialize_lorsa_with_mhsa: true, initialize_W_D_with_active_subspace: true },
            eval_windows: 0,
          }) as TrainConfigInput,
      ),
    ],
  };
}
