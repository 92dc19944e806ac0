// On webgpu, work the GPU rejects (here: a buffer bound past lavapipe's 128 MiB storage binding limit) must fail
// the next read with a one-line message, not read back zeros; and a model or dictionary whose weights cannot be
// bound is refused at load, naming the weight.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gpt2 } from '../../../src/core/lm/architectures/gpt2';
import { HfConfig } from '../../../src/core/lm/hf-config';
import { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { randomParams } from '../../../src/core/lm/random-params';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { randomSaeParams } from '../../../src/core/sae/init/initialize';
import { Sae } from '../../../src/core/sae/variants/sae';
import { initBackend } from '../../../src/core/tensor/backend';
import { checkWebGpuBinding, webgpuBindingLimit } from '../../../src/core/tensor/webgpu-guard';
import { hasBackend } from '../../helpers/backends';

describe.runIf(hasBackend('webgpu'))('webgpu guard', () => {
  let limit = 0;
  beforeAll(async () => {
    await initBackend('webgpu');
    limit = webgpuBindingLimit()!;
  });

  it('fails the next read, in one line, after the GPU rejects a command; later work reads normally', async (ctx) => {
    if (limit > 512 * 2 ** 20) {
      ctx.skip(`this adapter binds ${limit} bytes: too much memory to provoke the rejection here`);
      return;
    }
    const n = limit / 4 + 1024; // one binding's worth of floats, and a little more
    const big = tf.fill([n], 1, 'float32');
    const sum = tf.sum(tf.add(big, 1));
    await expect(sum.data()).rejects.toThrow(
      /^webgpu: the GPU rejected queued work, so results would be wrong: .*maximum storage buffer binding size.*try --backend wasm/,
    );
    tf.dispose([big, sum]);
    const small = tf.add(tf.tensor1d([1, 2, 3]), 1);
    expect(Array.from(await small.data())).toEqual([2, 3, 4]);
    small.dispose();
  });

  it('refuses a model whose weights cannot be bound, naming the weight', () => {
    expect(() => checkWebGpuBinding('w', [16, 16])).not.toThrow();
    expect(() => checkWebGpuBinding("model weight 'x'", [limit / 4 + 1])).toThrow(
      /^model weight 'x' \[\d+\] takes \d+ MiB, more than this GPU binds to a shader \(\d+ MiB\): use --backend wasm/,
    );
    // A one-layer GPT-2 with GPT-2's vocabulary and width: its embedding is 154 MB.
    const cfg = gpt2.parseConfig(
      new HfConfig(
        { model_type: 'gpt2', n_embd: 768, n_head: 12, n_layer: 1, n_positions: 64, vocab_size: 50257 },
        'wide',
      ),
    );
    if (50257 * 768 * 4 <= limit) return; // a GPU that binds it: nothing to refuse
    const host = randomParams(cfg, 0);
    expect(() => HookedTransformer.fromHostParams(cfg, host)).toThrow(
      /^model weight '[\w.]+' \[50257, 768\] takes 147 MiB/,
    );
  });

  it('refuses a dictionary whose parameters cannot be bound, naming the parameter', () => {
    const d = 512,
      F = Math.ceil(limit / 4 / d) + 1; // W_E [512, F] just past the limit
    if (d * F * 4 > 512 * 2 ** 20) return; // a GPU that binds more than we want to allocate here
    const cfg = SaeConfigSchema.parse({ hook_point_in: 'x', d_model: d, d_sae: F, act_fn: 'topk', top_k: 8 });
    const host = randomSaeParams(cfg, InitConfigSchema.parse({ bias_init_method: 'all_zero' }), 1, 0);
    expect(() => new Sae(cfg, host)).toThrow(
      /^dictionary parameter 'W_[ED]' \[\d+, \d+\] takes \d+ MiB, more than this GPU binds/,
    );
  });
});
