// Benchmark and bit check: pdlm-4l-256 forward at 16×256 on real text (docs/*.md) with each fused matmul's bias in
// sgemm's epilogue (B) against the bias broadcast into the output first (A), interleaved ABAB in one process:
// median wall and CPU ms per pass of each (to blocks.2), and whether blocks.2.hook_resid_post and the logits are
// byte-identical.
// --dump FILE writes B's hook and logits bytes (to compare with another build of the addon, --compare FILE).
// Usage: node --import tsx bench/lm-bias-epilogue.ts [--repeats 9] [--dump f] [--compare f]. Last line: JSON.
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/core/lm/load-model';
import { ModelTokenizer } from '../src/core/lm/tokenizer';
import { initBackend } from '../src/core/tensor/backend';
import { setFusedBiasEpilogue } from '../src/core/tensor/native/native-fused-matmul';
import { entryOf } from '../src/core/util/lookup';

const HOOK = 'blocks.2.hook_resid_post';
const [BATCH, SEQ] = [16, 256];
const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '9' },
    dump: { type: 'string' },
    compare: { type: 'string' },
  },
});
const info = await initBackend('auto');
const { model, location } = loadModel('pdlm-4l-256');
const text = readdirSync('docs')
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => readFileSync(join('docs', f), 'utf8'))
  .join('\n');
const all = ModelTokenizer.load(location.dir).encode(text);
if (all.length < BATCH * SEQ) throw new Error(`docs/*.md: ${all.length} tokens, need ${BATCH * SEQ}`);
const batch = { ids: Int32Array.from(all.slice(0, BATCH * SEQ)), batch: BATCH, seq: SEQ };

/** The hook's and the logits' bytes of one full forward. */
async function outputs(): Promise<[Uint8Array, Uint8Array]> {
  const { logits, cache } = model.runWithCache(batch, [HOOK], { logits: true });
  const h = await entryOf(cache, HOOK, 'cache').data();
  const l = await logits!.data();
  tf.dispose([...Object.values(cache), logits!]);
  return [new Uint8Array((h as Float32Array).slice().buffer), new Uint8Array((l as Float32Array).slice().buffer)];
}
async function toHook(): Promise<void> {
  const { cache } = model.runWithCache(batch, [HOOK]);
  await entryOf(cache, HOOK, 'cache').data();
  tf.dispose(Object.values(cache));
}
const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && Buffer.compare(x, y) === 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

setFusedBiasEpilogue(false);
const [hookA, logitsA] = await outputs();
setFusedBiasEpilogue(true);
const [hookB, logitsB] = await outputs();
if (values.dump) writeFileSync(values.dump, Buffer.concat([hookB, logitsB]));
const compared = values.compare ? same(readFileSync(values.compare), Buffer.concat([hookB, logitsB])) : null;

const ms: Record<'A' | 'B', number[]> = { A: [], B: [] };
const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] }; // this process's CPU ms: steadier on a shared machine
for (let r = 0; r < Number(values.repeats); r++) {
  for (const which of ['A', 'B'] as const) {
    setFusedBiasEpilogue(which === 'B');
    const [c0, t0] = [process.cpuUsage(), performance.now()];
    await toHook();
    ms[which].push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu[which].push((c.user + c.system) / 1000);
  }
}
const result = {
  bench: 'lm-bias-epilogue',
  blas: info,
  tokens: BATCH * SEQ,
  hookIdentical: same(hookA, hookB),
  logitsIdentical: same(logitsA, logitsB),
  identicalToDump: compared,
  toHookMsA: median(ms.A),
  toHookMsB: median(ms.B),
  ratioBoverA: median(ms.B) / median(ms.A),
  minMsA: Math.min(...ms.A),
  minMsB: Math.min(...ms.B),
  toHookCpuMsA: median(cpu.A),
  toHookCpuMsB: median(cpu.B),
  cpuRatioBoverA: median(cpu.B) / median(cpu.A),
};
console.log(JSON.stringify(result));
