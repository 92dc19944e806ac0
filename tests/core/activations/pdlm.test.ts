// The activation stream on the embedded pdlm-4l-256 (d_model 256, 256-token windows): kept rows, values against
// runWithCache, exact resume. Kept small: a forward pass of this model is ~1 s per 6 windows on wasm.
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivationStream } from '../../../src/core/activations';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { initBackend } from '../../../src/core/tensor/backend';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { PDLM_REFERENCE } from '../../helpers/fixtures';
import { expectSameBatches, take } from './helpers';

const HOOK = 'blocks.2.hook_resid_post';

describe('model activation stream on pdlm-4l-256', () => {
  let model: HookedTransformer;
  const file = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors'));
  const windows = { ids: file.readInt32('val_windows').slice(0, 6 * 256), batch: 6, seq: 256 };
  file.close();
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel('pdlm-4l-256').model;
  });
  afterAll(() => model.dispose());

  it('keeps 255 tokens per window, matches runWithCache and resumes exactly', async () => {
    const opts = { model, windows, hookPoints: [HOOK], batchSize: 256, groupWindows: 3, modelBatchSize: 3, seed: 42 };
    const stream = await createModelActivationStream(opts);
    expect(stream.dModel).toBe(256);
    const head = await take(stream, 2);
    const state = JSON.parse(JSON.stringify(stream.state()));
    const tail = await take(stream);
    expect([...head, ...tail].reduce((n, b) => n + b.rows, 0)).toBe(Math.floor((6 * 255) / 256) * 256);
    expectSameBatches(await take(await createModelActivationStream({ ...opts, state })), tail, 'pdlm resume');

    const { cache } = model.runWithCache(windows, [HOOK]);
    const ref = (await cache[HOOK]!.data()) as Float32Array;
    tf.dispose(Object.values(cache));
    const b = head[1]!;
    for (const i of [0, 100, 255]) {
      const at = b.origin![2 * i]! * 256 + b.origin![2 * i + 1]!;
      expect(b.origin![2 * i + 1]).toBeGreaterThan(0);
      const got = b.acts[HOOK]!.subarray(i * 256, (i + 1) * 256);
      got.forEach((v, j) => expect(v).toBeCloseTo(ref[at * 256 + j]!, 3));
    }
  });
});
