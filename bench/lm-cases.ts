// Language-model forward cases and their timing, shared by bench/lm-forward.ts, bench/run.ts and bench/gpu.ts
// (kept apart from lm-forward.ts's entry point so a bundle of gpu.ts does not run it).
import * as tf from '@tensorflow/tfjs-core';
import { gpt2 } from '../src/core/lm/architectures/gpt2';
import { HfConfig } from '../src/core/lm/hf-config';
import { HookedTransformer } from '../src/core/lm/hooked-transformer';
import { loadModel } from '../src/core/lm/load-model';
import { randomParams } from '../src/core/lm/random-params';
import type { BackendName } from '../src/core/tensor/backend';
import { entryOf } from '../src/core/util/lookup';

export const GPT2_SMALL = {
  model_type: 'gpt2',
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  vocab_size: 50257,
  activation_function: 'gelu_new',
};

export interface LmCase {
  name: string;
  make: () => HookedTransformer;
  /** [batch, seq] per backend: the slow cpu backend gets fewer tokens per pass. */
  shape: (b: BackendName) => [number, number];
}

export const LM_CASES: LmCase[] = [
  {
    name: 'lm_forward_pdlm',
    make: () => loadModel('pdlm-4l-256').model,
    shape: (b) => (b === 'cpu' ? [1, 256] : [8, 256]),
  },
  {
    name: 'lm_forward_gpt2_small_random',
    make: () => {
      const cfg = gpt2.parseConfig(new HfConfig(GPT2_SMALL, 'gpt2-small (random)'));
      return HookedTransformer.fromHostParams(cfg, randomParams(cfg, 0));
    },
    shape: (b) => (b === 'cpu' ? [1, 64] : [1, 256]),
  },
];

let peakRss = 0;
export const peakRssBytes = (): number => peakRss;
export const sampleRss = (): number => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

/** Times forward passes of `batch` windows of `seq` tokens, each read back: the full pass with its logits, or with
 * `hook` the pass up to that hook point (as activation generation runs it) with the hook's activations. */
export async function measureForward(
  model: HookedTransformer,
  batch: number,
  seq: number,
  minSeconds: number,
  hook?: string,
) {
  const ids = new Int32Array(batch * seq).map((_, i) => (i * 7919 + 13) % model.cfg.dVocab);
  const pass = async () => {
    if (hook) {
      const { cache } = model.runWithCache({ ids, batch, seq }, [hook]);
      await entryOf(cache, hook, 'cached activations').data();
      tf.dispose(Object.values(cache));
    } else {
      const { logits } = model.forward({ ids, batch, seq });
      await logits!.data();
      logits!.dispose();
    }
    sampleRss();
  };
  await pass(); // warm-up: kernel compilation, mask tables
  let passes = 0;
  const t0 = performance.now();
  while (passes < 2 || performance.now() - t0 < minSeconds * 1000) {
    await pass();
    passes++;
  }
  const ms = (performance.now() - t0) / passes;
  return { ms_per_forward: Number(ms.toFixed(2)), tokens_per_second: Math.round((batch * seq) / (ms / 1000)) };
}
