// Largest relative error (max |ours − HF| / max |HF| over logits, hidden states and module outputs) of each Hugging
// Face parity case on each backend — the README's parity table. Usage: npm run bench:parity. Last line: JSON.
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { loadModel } from '../src/core/lm/load-model';
import { openSafetensors } from '../src/core/tensor/safetensors';
import { availableBackends, initBackend } from '../src/core/tensor/backend';
import { PARITY_CASES, referenceToHook } from '../tests/helpers/hf-parity-cases';

const rows: { backend: string; model: string; max_relative_error: number }[] = [];
for (const backend of await availableBackends()) {
  await initBackend(backend);
  for (const c of PARITY_CASES) {
    const { model } = loadModel(c.dir);
    const ref = openSafetensors(c.reference);
    const [B, S] = ref.info('input_ids').shape as [number, number];
    const refs = ref.names().filter((n) => n !== 'input_ids');
    const hooks = refs.map((r) => referenceToHook(r, model.cfg)).filter((h) => h !== 'logits');
    const out = model.forward({ ids: ref.readInt32('input_ids'), batch: B, seq: S }, { cache: hooks });
    let worst = 0;
    for (const r of refs) {
      const hook = referenceToHook(r, model.cfg);
      const t = hook === 'logits' ? out.logits : out.cache[hook];
      if (!t) throw new Error(`${c.name}: no ${hook} from the forward pass`);
      const ours = (await t.data()) as Float32Array;
      const theirs = ref.readFloat32(r);
      if (ours.length !== theirs.length)
        throw new Error(`${c.name} ${hook}: ${ours.length} values, the reference has ${theirs.length}`);
      let diff = 0;
      let scale = 0;
      for (const [i, v] of theirs.entries()) {
        diff = Math.max(diff, Math.abs((ours[i] ?? Number.NaN) - v));
        scale = Math.max(scale, Math.abs(v));
      }
      worst = Math.max(worst, diff / (scale || 1));
    }
    tf.dispose([...(out.logits ? [out.logits] : []), ...Object.values(out.cache)]);
    model.dispose();
    rows.push({ backend, model: c.name, max_relative_error: Number(worst.toPrecision(2)) });
    process.stderr.write(`${backend.padEnd(7)} ${c.name.padEnd(12)} ${worst.toExponential(1)}\n`);
  }
}
process.stdout.write(
  `${JSON.stringify({ benchmark: 'hf_parity', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model }, results: rows })}\n`,
);
process.exit(0);
