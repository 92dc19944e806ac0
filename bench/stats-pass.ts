// Benchmark: the training run's statistics pass (estimateAverageNorm over the first N training windows of
// pdlm-corpus, 16 windows a pass, blocks.2.hook_resid_post) against the bare forward passes it is made of, to show
// what the pass costs beyond the LM: the row copy, the norm and mean sums, and, with a spool, the disk writes.
// Modes alternate, best of --reps each. Usage: node --import tsx bench/stats-pass.ts [-- --windows N --reps R
// --home DIR]. Last line: JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { estimateAverageNorm, hookWidths, RowSpool, spoolKey } from '../src/core/activations';
import { forEachForward } from '../src/core/activations/model-rows';
import { studioHome } from '../src/core/home';
import { sliceRows } from '../src/core/lm/token-batch';
import { loadModelAndWindows } from '../src/core/sae/train-data';
import { initBackend } from '../src/core/tensor/backend';

const { values } = parseArgs({
  options: {
    windows: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
    home: { type: 'string' },
  },
});
const backend = await initBackend();
const home = studioHome(values.home ?? mkdtempSync(join(tmpdir(), 'sae-studio-stats-')));
const hook = 'blocks.2.hook_resid_post';
const loaded = await loadModelAndWindows('pdlm-4l-256', 'pdlm-corpus', { home, split: 'train', contextSize: null });
const { model } = loaded;
const windows = sliceRows(loaded.windows, 0, Number(values.windows));
const mask = { bosId: null, ignoreTokenIds: [] }; // the trainer's
const hookPoints = [hook];
const dims = await hookWidths(model, hookPoints);
const modelBatchSize = 16;
const all = windows.batch * windows.seq; // the forward runs every position; the stats pass keeps all but BOS
let tokens = 0;

const modes: Record<string, () => Promise<unknown>> = {
  forward: () => forEachForward(model, windows, hookPoints, { start: 0, end: windows.batch, modelBatchSize }, () => {}),
  stats: async () => {
    tokens = (await estimateAverageNorm({ model, windows, hookPoints, mask, nTokens: all, modelBatchSize })).tokens;
  },
  stats_spooled: async () => {
    const spool = new RowSpool(join(home.root, 'bench-spool'), spoolKey(windows, mask, hookPoints), dims);
    try {
      await estimateAverageNorm({ model, windows, hookPoints, mask, nTokens: all, modelBatchSize, spool });
    } finally {
      spool.dispose();
    }
  },
};
const best: Record<string, number> = {};
const bestCpu: Record<string, number> = {};
await modes.forward!(); // warm-up
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (const [name, run] of Object.entries(modes)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    best[name] = Math.min(best[name] ?? Infinity, s);
    bestCpu[name] = Math.min(bestCpu[name] ?? Infinity, cpu);
    process.stderr.write(
      `${name}: ${s.toFixed(2)} s, CPU ${cpu.toFixed(2)} s (system ${(c.system / 1e6).toFixed(2)})\n`,
    );
  }
}
rmSync(join(home.root, 'bench-spool'), { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    benchmark: 'stats_pass_pdlm_blocks2',
    backend: backend.name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
    windows: windows.batch,
    kept_tokens: tokens,
    forward_tokens_per_second: Math.round(all / best.forward!),
    stats_tokens_per_second: Math.round(all / best.stats!),
    stats_spooled_tokens_per_second: Math.round(all / best.stats_spooled!),
    spooled_vs_forward_seconds: Number((best.stats_spooled! / best.forward!).toFixed(3)),
    cpu_seconds_best: Object.fromEntries(Object.entries(bestCpu).map(([k, v]) => [k, Number(v.toFixed(2))])),
  })}\n`,
);
process.exit(0);
