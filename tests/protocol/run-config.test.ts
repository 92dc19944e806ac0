// The run config as the contract carries it: a draft request takes any object (its problems are the check's to
// report, field by field), and a checked config crosses the response schema unchanged — parsing is idempotent.
import { describe, expect, it } from 'vitest';
import { ACT_FNS, SaeConfigSchema, usesTopK } from '../../src/protocol/dictionary-config';
import { TrainConfigCheckSchema, ValidateTrainConfigRequestSchema } from '../../src/protocol/jobs';
import { BACKEND_REQUESTS, TrainConfigSchema } from '../../src/protocol/run-config';

const MINIMAL = {
  sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 512, act_fn: 'topk', top_k: 8 },
  total_training_tokens: 4096,
  batch_size: 1024,
};

describe('run config contract', () => {
  it('takes any object as a draft, and refuses what is not one', () => {
    expect(ValidateTrainConfigRequestSchema.safeParse({ config: { lr: 'fast', colour: 'red' } }).success).toBe(true);
    for (const config of ['sae', [1, 2], null]) {
      const r = ValidateTrainConfigRequestSchema.safeParse({ config });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe('expected an object (a train config)');
    }
  });

  it('answers a checked config that parses to itself', () => {
    const checked = TrainConfigSchema.parse(MINIMAL);
    const answer = TrainConfigCheckSchema.parse(JSON.parse(JSON.stringify({ ok: true, config: checked })));
    expect(answer).toEqual({ ok: true, config: checked });
    expect(checked).toMatchObject({
      backend: 'auto',
      lr_scheduler_name: 'constantwithwarmup',
      initializer: { bias_init_method: 'mean' },
    });
  });

  it('keeps its vocabulary in one place', () => {
    expect(BACKEND_REQUESTS).toEqual(['auto', 'webgpu', 'wasm', 'cpu']);
    expect(ACT_FNS.filter(usesTopK)).toEqual(['topk', 'batchtopk']);
    const tooLargeK = SaeConfigSchema.safeParse({
      hook_point_in: 'h',
      d_model: 4,
      d_sae: 8,
      act_fn: 'batchtopk',
      top_k: 9,
    });
    expect(tooLargeK.error?.issues[0]).toMatchObject({ path: ['top_k'], message: 'must be at most d_sae = 8' });
  });
});

describe('the dictionary config refuses a dictionary of no latents', () => {
  it.each([0.001, 0.0019])('expansion_factor %f on d_model 256 rounds to 0 latents', (ef) => {
    const r = SaeConfigSchema.safeParse({
      hook_point_in: 'blocks.0.hook_resid_post',
      d_model: 256,
      expansion_factor: ef,
      act_fn: 'relu',
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['expansion_factor']);
    expect(r.error?.issues[0]?.message).toMatch(/rounds to 0 latents; a dictionary needs at least 1/);
  });

  it('takes the smallest expansion_factor that gives one latent', () => {
    const r = SaeConfigSchema.safeParse({
      hook_point_in: 'blocks.0.hook_resid_post',
      d_model: 256,
      expansion_factor: 0.5 / 256,
      act_fn: 'relu',
    });
    expect(r.success && r.data.d_sae).toBe(1);
  });
});

describe('the run config refuses a batch no machine can hold', () => {
  it('batch_size 1e9 is refused on its field', () => {
    const r = TrainConfigSchema.safeParse({
      model: 'pdlm-4l-256',
      dataset: 'pdlm-corpus',
      sae: { hook_point_in: 'blocks.0.hook_resid_post' },
      batch_size: 1e9,
      total_training_tokens: 2e9,
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['batch_size']);
    expect(r.error?.issues[0]?.message).toBe('at most 1,048,576 tokens per step');
  });
});
