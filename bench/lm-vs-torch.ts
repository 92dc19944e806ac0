// Benchmark: pdlm-4l-256 forward on this CPU, SAE Studio against plain PyTorch in one run — activation generation
// (the pass up to blocks.2.hook_resid_post, as training and analysis run it) and the full pass with logits, on
// 16×256 windows. SAE Studio's logits and hook activations on two windows are handed to the PyTorch script, which
// refuses to time unless its own agree to 1e-4. PyTorch: Debian's python3-torch at /usr/bin/python3, all cores, on
// an optimised BLAS (the script refuses the reference one: `apt-get install libopenblas0-pthread`).
// Usage: npm run bench:lm-torch [-- --backend wasm --seconds 6 --python /usr/bin/python3 --allow-reference-blas].
// Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/core/lm/load-model';
import { initBackend, parseBackendRequest } from '../src/core/tensor/backend';
import { entryOf } from '../src/core/util/lookup';
import { measureForward } from './lm-cases';

const HOOK = 'blocks.2.hook_resid_post';
const [BATCH, SEQ] = [16, 256];

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    seconds: { type: 'string', default: '6' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'allow-reference-blas': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const info = await initBackend(parseBackendRequest(values.backend, '--backend'));
const { model, location } = loadModel('pdlm-4l-256');

// The check windows: two windows of the corpus's id range, our logits and hook activations on them.
const check = mkdtempSync(join(tmpdir(), 'lm-vs-torch-'));
try {
  const ids = new Int32Array(2 * SEQ).map((_, i) => (i === 0 || i === SEQ ? 0 : (i * 104729 + 7) % model.cfg.dVocab));
  const batch = { ids, batch: 2, seq: SEQ };
  const { logits } = model.forward(batch);
  const { cache } = model.runWithCache(batch, [HOOK]);
  writeFileSync(join(check, 'ids.i32'), ids);
  writeFileSync(join(check, 'logits.f32'), (await logits!.data()) as Float32Array);
  writeFileSync(join(check, 'hook.f32'), (await entryOf(cache, HOOK, 'cache').data()) as Float32Array);
  writeFileSync(join(check, 'shape.json'), JSON.stringify({ batch: 2, seq: SEQ }));
  tf.dispose([logits!, ...Object.values(cache)]);

  // Ours first, then PyTorch, back to back in this one run (the machine may be shared: compare within a run).
  const ours = {
    hook: await measureForward(model, BATCH, SEQ, seconds, HOOK),
    full: await measureForward(model, BATCH, SEQ, seconds),
  };
  model.dispose();
  const py = spawnSync(
    values.python!,
    [
      ...['bench/torch_lm_forward.py', '--model', location.dir, '--check', check, '--seconds', String(seconds)],
      ...(values['allow-reference-blas'] ? ['--allow-reference-blas'] : []),
    ],
    { encoding: 'utf8' },
  );
  if (py.status !== 0) throw new Error(`PyTorch side failed (exit ${py.status}): ${py.stderr || py.stdout}`);
  const torch = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
    torch: string;
    threads: number;
    blas: string | null;
    max_abs_diff_logits: number;
    max_abs_diff_hook: number;
    hook: { tokens_per_second: number; ms_per_forward: number };
    full: { tokens_per_second: number; ms_per_forward: number };
  };
  const rows = (['hook', 'full'] as const).map((pass) => ({
    name: pass === 'hook' ? `lm_to_${HOOK}` : 'lm_full_logits',
    batch: BATCH,
    seq: SEQ,
    sae_studio_tokens_per_second: ours[pass].tokens_per_second,
    torch_tokens_per_second: torch[pass].tokens_per_second,
    ratio: Number((ours[pass].tokens_per_second / torch[pass].tokens_per_second).toFixed(3)),
  }));
  for (const r of rows)
    process.stderr.write(
      `${r.name.padEnd(34)} SAE Studio ${String(r.sae_studio_tokens_per_second).padStart(7)} tok/s   PyTorch ${String(r.torch_tokens_per_second).padStart(7)} tok/s   ×${r.ratio}\n`,
    );
  process.stdout.write(
    `${JSON.stringify({
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
      backend: info.name,
      device: info.device,
      torch: { version: torch.torch, threads: torch.threads, blas: torch.blas },
      agreement: { max_abs_diff_logits: torch.max_abs_diff_logits, max_abs_diff_hook: torch.max_abs_diff_hook },
      rows,
    })}\n`,
  );
} finally {
  rmSync(check, { recursive: true, force: true });
}
process.exit(0);
