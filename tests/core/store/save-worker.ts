// Child process of crash.test.ts: replaces the 'default' analysis of <dir>/studio.db with a big synthetic one and,
// halfway through the save (half its features committed in chunks under the staging name, pages in the WAL), says
// MID on stdout and waits to be killed.
import { writeSync } from 'node:fs';
import { openStore, saveAnalysis } from '../../../src/core/store';
import { syntheticAnalysis } from './helpers';

const [dir, nFeatures] = process.argv.slice(2);
const store = openStore({ dir: dir! });
// A real analysis (10⁵ features) outgrows SQLite's 16 MB page cache and spills uncommitted pages into the WAL
// before it commits; a 512 KB cache makes this test-sized one do the same.
store.db.pragma('cache_size = -512');
const big = syntheticAnalysis({
  seed: 99,
  dSae: 8192,
  nFeatures: Number(nFeatures),
  nContexts: 400,
  contextSize: 256,
  samplesPerSampling: 10,
  samplingNames: ['top_activations', 'quantile_1', 'quantile_2', 'non_activating'],
});
const pause = new Int32Array(new SharedArrayBuffer(4));
saveAnalysis(store, big, {
  replace: true,
  onProgress(done, total) {
    if (done * 2 < total) return;
    writeSync(1, 'MID\n');
    Atomics.wait(pause, 0, 0, 120_000); // blocks the transaction until the parent kills us
  },
});
writeSync(1, 'DONE\n'); // never reached when the parent kills us at MID
