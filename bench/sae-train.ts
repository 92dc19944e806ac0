// Benchmark cases for SAE training steps: a TopK SAE step (forward, loss, backward, Adam, unit-norm decoder)
// on random activations, dense vs sparse path, per backend. Used by bench/run.ts (npm run bench).
import * as tf from '@tensorflow/tfjs-core';
import { SaeConfigSchema } from '../src/protocol/dictionary-config';
import { normalGenerator } from '../src/core/lm/random-params';
import { InitConfigSchema } from '../src/protocol/run-config';
import { initializeSae } from '../src/core/sae/init/initialize';
import { Adam } from '../src/core/sae/optim/adam';
import { preselectBatchTopK, sparseTopKUnavailable, type PreselectedBatch } from '../src/core/sae/sparse/sparse-topk';
import { disposeStats, trainStep } from '../src/core/sae/train-step';
import { Sae } from '../src/core/sae/variants/sae';

export interface SaeCase {
  name: string;
  dModel: number;
  dSae: number;
  k: number;
  batch: number;
  /** topk unless said (batchtopk: the batch's B·k largest activations, k per token on average). */
  actFn?: 'topk' | 'batchtopk';
}

export const SAE_CASES: SaeCase[] = [
  { name: 'sae_topk_d256_f4096_k32', dModel: 256, dSae: 4096, k: 32, batch: 4096 },
  { name: 'sae_topk_d768_f24576_k32', dModel: 768, dSae: 24576, k: 32, batch: 4096 },
];

/** BatchTopK on the first case's shape (npm run bench; its sparse path runs on the cpu and wasm backends). */
export const BATCH_CASES: SaeCase[] = [
  { name: 'sae_batchtopk_d256_f4096_k32', dModel: 256, dSae: 4096, k: 32, batch: 4096, actFn: 'batchtopk' },
];

export interface StepResult {
  ms_per_step: number;
  tokens_per_second: number;
  steps: number;
}

/** A TopK step's loss settings: no sparsity penalty, no AuxK (the reference recipe's; shared by the step benches). */
export const TOPK_LOSS = {
  sparsityLossType: null,
  l1Coefficient: 0,
  p: 1,
  tanhStretchCoefficient: 4,
  frequencyScale: 0.01,
  lpCoefficient: 0,
  auxkCoefficient: 0,
  kAux: 1,
  deadMask: null,
  nDead: 0,
};

/** A TopK (or BatchTopK) SAE training step on random activations, as the trainer runs the steps it does not log; `step` resolves
 * when the step has finished on the device. */
export async function makeSaeStep(
  c: SaeCase,
  sparse: boolean,
  fused = true,
): Promise<{ step: () => Promise<void>; run: (selection?: PreselectedBatch) => tf.Tensor; dispose: () => void }> {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'bench',
    d_model: c.dModel,
    d_sae: c.dSae,
    act_fn: c.actFn ?? 'topk',
    top_k: c.k,
    sparsity_include_decoder_norm: false,
  });
  const sae = new Sae(
    cfg,
    await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'all_zero' }), {
      seed: 0,
      unitNormDecoder: true,
    }),
  );
  const adam = new Adam(sae.params);
  const normal = normalGenerator(1);
  const x = tf.tensor2d(
    new Float32Array(c.batch * c.dModel).map(() => normal()),
    [c.batch, c.dModel],
  );
  // Without the metric reductions (9 of 10 steps by default); returns the loss, the rest of the stats released.
  const run = (selection?: PreselectedBatch) => {
    const stats = trainStep(sae, adam, x, x, {
      sparse,
      fused,
      lr: 1e-4,
      lrFactors: {},
      clipGradNorm: 0,
      unitNormDecoder: true,
      loss: TOPK_LOSS,
      metrics: false,
      ...(selection ? { selection } : {}),
    });
    const total = tf.keep(stats.parts.total.clone());
    disposeStats(stats);
    return total;
  };
  // BatchTopK's sparse path on webgpu selects each batch before its step, as the trainer does.
  const p = sae.params as Record<string, tf.Tensor>;
  const preselect =
    sparse && cfg.act_fn === 'batchtopk' && tf.getBackend() === 'webgpu'
      ? () =>
          preselectBatchTopK(
            x,
            p.W_E as tf.Tensor2D,
            p.b_E as tf.Tensor1D,
            (p.b_D as tf.Tensor1D) ?? null,
            c.k,
            cfg.apply_decoder_bias_to_pre_encoder,
          )
      : null;
  const step = async () => {
    const selection = preselect ? await preselect() : undefined;
    const total = run(selection);
    await total.data(); // waits for the step to finish on asynchronous backends
    total.dispose();
    if (selection) tf.dispose([selection.values, selection.indices, selection.threshold]);
  };
  return {
    step,
    run,
    dispose: () => {
      x.dispose();
      adam.dispose();
      sae.dispose();
    },
  };
}

/** Times training steps until `minSeconds` have passed (at least `minSteps`, after one warm-up step). */
export async function benchSaeStep(
  c: SaeCase,
  sparse: boolean,
  opts: { minSeconds: number; minSteps: number; maxSteps: number; fused?: boolean },
): Promise<StepResult | { skipped: string }> {
  if (sparse) {
    const why = sparseTopKUnavailable(c.actFn === 'batchtopk' ? undefined : c.k);
    if (why) return { skipped: why };
  }
  const { step, dispose } = await makeSaeStep(c, sparse, opts.fused ?? true);
  try {
    await step();
    let steps = 0;
    const t0 = performance.now();
    while (steps < opts.minSteps || (performance.now() - t0 < opts.minSeconds * 1000 && steps < opts.maxSteps)) {
      await step();
      steps++;
    }
    const ms = (performance.now() - t0) / steps;
    return { ms_per_step: Number(ms.toFixed(2)), tokens_per_second: Math.round(c.batch / (ms / 1000)), steps };
  } finally {
    dispose();
  }
}
