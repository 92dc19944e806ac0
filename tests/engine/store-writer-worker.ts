// Child process of store-busy.test.ts, another writer of the same studio.db:
//   hold <dir> <ms>            takes the write lock (BEGIN IMMEDIATE), says LOCKED, holds it <ms>, commits
//   save <dir> <nFeatures>     replaces the 'default' analysis of toy-sae with a big synthetic one, says SAVING first
//                              and DONE <ms> at the end
import { writeSync } from 'node:fs';
import { openStore, saveAnalysis } from '../../src/core/store';
import { syntheticAnalysis } from '../core/store/helpers';

const [mode, dir, amount] = process.argv.slice(2);
const store = openStore({ dir: dir! });
if (mode === 'hold') {
  store.db.exec('BEGIN IMMEDIATE');
  store.db
    .prepare("INSERT OR REPLACE INTO models (name, cfg, created_at) VALUES ('held-by-worker', '{}', '2026-01-01')")
    .run();
  writeSync(1, 'LOCKED\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(amount));
  store.db.exec('COMMIT');
} else {
  const big = syntheticAnalysis({
    seed: 7,
    dSae: 8192,
    nFeatures: Number(amount),
    nContexts: 400,
    contextSize: 256,
    samplesPerSampling: 10,
    samplingNames: ['top_activations', 'quantile_1', 'quantile_2', 'non_activating'],
  });
  writeSync(1, 'SAVING\n');
  const started = Date.now();
  saveAnalysis(store, big, { replace: true });
  writeSync(1, `DONE ${Date.now() - started}\n`);
}
store.close();
