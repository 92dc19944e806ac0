// The training batch path on pdlm-4l-256's real activations: the native row gather gives the batches the per-row
// subarray-and-set copy gave, bit for bit, also when each batch's arrays are released and refilled; and a batch's
// step tensors, copied into tensor memory with the dataset scale applied on the way, hold the bits of tf.tensor2d
// then tf.mul by the scale (wasm and cpu, native and JavaScript copies).
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivationStream, type ActivationBatch } from '../../../src/core/activations';
import { nativeGatherRows } from '../../../src/core/activations/row-gather';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { batchTensors } from '../../../src/core/sae/batch-tensors';
import { initBackend } from '../../../src/core/tensor/backend';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { PDLM_REFERENCE } from '../../helpers/fixtures';
import { expectSameBatches, take } from './helpers';

const IN = 'blocks.1.hook_resid_post';
const OUT = 'blocks.2.hook_resid_post';
const D = 256;

/** A copy of a batch (its arrays may be refilled once released). */
function snapshot(b: ActivationBatch): ActivationBatch {
  return {
    rows: b.rows,
    acts: Object.fromEntries(Object.entries(b.acts).map(([h, a]) => [h, a.slice()])),
    origin: b.origin!.slice(),
  };
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the training batch path on pdlm-4l-256', () => {
  let model: HookedTransformer;
  const file = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors'));
  const windows = { ids: file.readInt32('val_windows').slice(0, 6 * 256), batch: 6, seq: 256 };
  file.close();
  // Batches of 300 rows from groups of 2 windows (510 rows): most batches span two groups.
  const opts = { windows, hookPoints: [IN, OUT], batchSize: 300, groupWindows: 2, modelBatchSize: 3, seed: 42 };
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel('pdlm-4l-256').model;
  });
  afterAll(() => model.dispose());
  afterEach(() => nativeGatherRows(true));

  it('gathers the same batches natively, and into released arrays, as row by row in JavaScript', async () => {
    expect(nativeGatherRows(), 'the addon has gatherRows (npm run build:native)').toBe(true);
    nativeGatherRows(false);
    const reference = await take(await createModelActivationStream({ model, ...opts }));
    nativeGatherRows(true);
    const released: ActivationBatch[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const stream = await createModelActivationStream({ model, ...opts });
    for (let b = await stream.next(); b; b = await stream.next()) {
      released.push(snapshot(b));
      buffers.add(b.acts[IN]!.buffer);
      stream.release?.(b);
    }
    expect(reference.length).toBe(5);
    expectSameBatches(released, reference, 'native gather into released arrays');
    expect(buffers.size, 'every batch after the first reuses the released arrays').toBe(1);
    expectSameBatches(await take(await createModelActivationStream({ model, ...opts })), reference, 'native gather');
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`makes the step tensors with the bits of tf.tensor2d and tf.mul by the scale (${backend})`, async () => {
      const [batch] = await take(await createModelActivationStream({ model, ...opts }), 1);
      await initBackend(backend);
      try {
        // The scales of real norms (blocks.1 and blocks.2 of this model over the batch's rows), and 1.
        const scale = (h: string) => {
          const a = batch!.acts[h]!;
          let sum = 0;
          for (let r = 0; r < batch!.rows; r++) sum += Math.hypot(...a.subarray(r * D, (r + 1) * D));
          return Math.sqrt(D) / (sum / batch!.rows);
        };
        const [sIn, sOut] = [scale(IN), scale(OUT)];
        expect(Math.fround(sIn)).not.toBe(sIn); // a scale that float32 rounds, as the dataset's
        for (const native of [true, false]) {
          nativeGatherRows(native);
          for (const [hooks, si, so] of [
            [{ hookIn: IN, hookOut: OUT }, sIn, sOut],
            [{ hookIn: OUT, hookOut: OUT }, sOut, sOut],
            [{ hookIn: IN, hookOut: OUT }, 1, 1],
          ] as const) {
            const before = tf.memory().numTensors;
            const got = batchTensors(batch!, hooks, D, si, so);
            expect(got.copied).toBe(true);
            const want = tf.tidy(() =>
              [
                [hooks.hookIn, si],
                [hooks.hookOut, so],
              ].map(([h, s]) => {
                const t = tf.tensor2d(batch!.acts[h as string]!, [batch!.rows, D]);
                return s === 1 ? t : tf.mul(t, s as number);
              }),
            );
            const label = `${backend}, native ${native}, scales ${si} ${so}`;
            expect(bytes(got.x.dataSync()).equals(bytes(want[0]!.dataSync())), `${label}: x`).toBe(true);
            expect(bytes(got.y.dataSync()).equals(bytes(want[1]!.dataSync())), `${label}: y`).toBe(true);
            expect(got.x.shape).toEqual([batch!.rows, D]);
            if (hooks.hookIn === hooks.hookOut) expect(got.y).toBe(got.x);
            tf.dispose([got.x, got.y, ...want]);
            expect(tf.memory().numTensors, `${label}: tensors left`).toBe(before);
          }
        }
      } finally {
        await initBackend('wasm');
      }
    });
  }
});
