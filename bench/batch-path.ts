// The training step's batch path, before the step itself: a batch of 4096 rows gathered from a shuffled group (the
// demo's: 4096 windows of 255 kept rows, d 256, ~1 GB) and made into the step's input tensor times the dataset scale.
// A, as it was: a subarray and a set per row into fresh arrays, then tf.tensor2d and tf.mul. B, as it is: the
// native row gather into the arrays of the batch released before, then one scaled copy into tensor memory
// (batchTensors). Paired: A and B alternate batch by batch over the same group, so the host's noise hits both.
// Usage: node --import tsx bench/batch-path.ts [--batches N --windows W]. Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { GroupBatcher, type RowGroup } from '../src/core/activations/group-batcher';
import { nativeGatherRows } from '../src/core/activations/row-gather';
import type { ActivationBatch, StreamFingerprint } from '../src/core/activations/types';
import { batchTensors } from '../src/core/sae/batch-tensors';
import { initBackend } from '../src/core/tensor/backend';

const { values } = parseArgs({
  options: { batches: { type: 'string', default: '60' }, windows: { type: 'string', default: '4096' } },
});
const N = Number(values.batches);
const d = 256;
const B = 4096;
const HOOK = 'blocks.2.hook_resid_post';
const scale = Math.sqrt(d) / 20.8764; // the demo's norm

await initBackend('wasm');
const rows = Number(values.windows) * 255;
const group: RowGroup = { rows, acts: { [HOOK]: new Float32Array(rows * d) }, origin: new Int32Array(rows * 2) };
const a = group.acts[HOOK]!;
for (let i = 0; i < a.length; i++) a[i] = Math.sin(i) * 3;
for (let r = 0; r < rows; r++) [group.origin[2 * r], group.origin[2 * r + 1]] = [Math.floor(r / 255), (r % 255) + 1];

const fingerprint: StreamFingerprint = {
  ...{ source: 'bench', data: 'synthetic', mask: '{}', hook_points: [HOOK], batch_size: B, seed: 42 },
  ...{ shuffle: true, group_windows: Number(values.windows), n_windows: 1e9, drop_last: true },
};
const stream = () => new GroupBatcher({ fingerprint, dims: { [HOOK]: d }, nGroups: 1e6, loadGroup: async () => group });
const hooks = { hookIn: HOOK, hookOut: HOOK };

/** The old path: tf.tensor2d of the batch, then tf.mul by the scale. */
function oldTensors(batch: ActivationBatch): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.tensor2d(batch.acts[HOOK]!, [B, d]), scale));
}

const [sA, sB] = [stream(), stream()];
const wall = { A: [] as number[], B: [] as number[] };
const cpu = { A: 0, B: 0 };
let checksum = 0;
for (let i = 0; i < N + 2; i++) {
  for (const which of ['A', 'B'] as const) {
    nativeGatherRows(which === 'B');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let x: tf.Tensor2D;
    if (which === 'A') {
      x = oldTensors((await sA.next())!);
    } else {
      const batch = (await sB.next())!;
      const t = batchTensors(batch, hooks, d, scale, scale);
      if (t.copied) sB.release(batch);
      x = t.x;
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    checksum += x.shape[0];
    x.dispose();
    if (i < 2) continue; // warm-up (the first batch of each stream loads its group's order)
    wall[which].push(ms);
    cpu[which] += (c.user + c.system) / 1000;
  }
}
const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
const out = {
  benchmark: 'sae_batch_path',
  batches: N,
  group_rows: rows,
  a_median_ms: +median(wall.A).toFixed(3),
  b_median_ms: +median(wall.B).toFixed(3),
  a_cpu_ms_per_batch: +(cpu.A / N).toFixed(3),
  b_cpu_ms_per_batch: +(cpu.B / N).toFixed(3),
  ratio_median: +(median(wall.A) / median(wall.B)).toFixed(2),
  rows_checked: checksum,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
