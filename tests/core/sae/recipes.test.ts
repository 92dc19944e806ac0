// The reference recipe (tests/fixtures/reference/sae-quality.json) as a training config: the full run's schedule is the
// reference's (100 warm-up steps, a linear decay to zero over the last 20% of 1,348 steps), and a shorter run keeps
// its proportions, so that its learning rate reaches its peak and ends at zero.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrainConfigSchema } from '../../../src/protocol/run-config';
import { learningRate } from '../../../src/core/sae/optim/schedules';
import { PDLM_TRAIN_TOKENS, referenceTopKRecipe } from '../../../src/core/sae/recipes';
import { REFERENCE_SAE_QUALITY } from '../../helpers/fixtures';

function schedule(tokens: number) {
  const cfg = TrainConfigSchema.parse(referenceTopKRecipe({ total_training_tokens: tokens }));
  const totalSteps = Math.floor(cfg.total_training_tokens / cfg.batch_size);
  const o = {
    name: cfg.lr_scheduler_name,
    lr: cfg.lr,
    totalSteps,
    warmUpSteps: cfg.lr_warm_up_steps,
    coolDownSteps: cfg.lr_cool_down_steps,
    endRatio: cfg.lr_end_ratio,
  };
  return { cfg, totalSteps, lrs: Array.from({ length: totalSteps }, (_, s) => learningRate(o, s)) };
}

describe('reference TopK recipe', () => {
  it('is the reference run: k 32, 4096 latents, batch 4096, lr 4e-4, 100 warm-up steps, decay over the last 20%', () => {
    const { cfg, totalSteps, lrs } = schedule(PDLM_TRAIN_TOKENS);
    expect(totalSteps).toBe(1348);
    expect([
      cfg.sae.top_k,
      cfg.sae.d_sae,
      cfg.batch_size,
      cfg.lr,
      cfg.lr_warm_up_steps,
      cfg.lr_cool_down_steps,
      cfg.lr_end_ratio,
    ]).toEqual([32, 4096, 4096, 4e-4, 100, 0.2, 0]);
    expect(lrs[99]).toBeCloseTo(4e-4, 12);
    expect(lrs[98]).toBeLessThan(4e-4);
    expect(lrs[1077]).toBeCloseTo(4e-4, 12); // the decay takes the last 20% (270 steps)
    expect(lrs[1078]).toBeLessThan(4e-4);
    expect(lrs[1347]).toBeLessThan(2e-6);
  });

  it('matches the reference file: hook, latents, k, batch, steps and training tokens', () => {
    const ref = JSON.parse(readFileSync(REFERENCE_SAE_QUALITY, 'utf8')) as {
      recipe: { hook: string; n_latents: number; k: number; batch_tokens: number; steps: number };
      tokens: { train: number };
    };
    const { cfg, totalSteps } = schedule(PDLM_TRAIN_TOKENS);
    expect({
      hook: cfg.sae.hook_point_in,
      n_latents: cfg.sae.d_sae,
      k: cfg.sae.top_k,
      batch_tokens: cfg.batch_size,
      steps: totalSteps,
    }).toEqual({
      hook: ref.recipe.hook,
      n_latents: ref.recipe.n_latents,
      k: ref.recipe.k,
      batch_tokens: ref.recipe.batch_tokens,
      steps: ref.recipe.steps,
    });
    expect(PDLM_TRAIN_TOKENS).toBe(ref.tokens.train);
  });

  it('scales the warm-up of a shorter run to the same share of its steps', () => {
    for (const tokens of [300_000, 1_000_000]) {
      const { cfg, totalSteps, lrs } = schedule(tokens);
      expect(cfg.lr_warm_up_steps).toBe(Math.round((100 * totalSteps) / 1348));
      expect(Math.max(...lrs), `${tokens} tokens: the peak is reached`).toBeCloseTo(4e-4, 12);
      expect(lrs[totalSteps - 1], `${tokens} tokens: ends near zero`).toBeLessThan(4e-4 / 10);
    }
    expect(schedule(4096).cfg.lr_warm_up_steps).toBe(1);
  });
});
