// `sae-studio analyze` (a real CLI process) replaces a dictionary's analysis while the app (a real `sae-studio serve`,
// over HTTP) saves interpretations and reads features: every save lands (no lost write), no request waits 1 s or
// more (each request's latency measured), none fails, and several fell inside the analysis's chunked save (seen
// through the store's staging row). The store passes its integrity check and holds the new analysis.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStore, runCli } from '../kill/kill-harness';
import { ROOT } from '../helpers/fixtures';
import { smallTextDataset } from '../helpers/train-fixtures';
import { startServe, type ServeProcess } from './serve-process';

const serves: ServeProcess[] = [];
afterAll(async () => {
  for (const s of serves) await s.stop();
});

describe('analyze while the app saves interpretations', () => {
  it('loses no write and stalls no request for 1 s', async () => {
    const dataset = smallTextDataset();
    const home = mkdtempSync(join(tmpdir(), 'sae-studio-conc-'));
    const cfg = join(home, 'train.json');
    // 4,096 latents: the analysis is saved in 32 chunks of 128 features, long enough that the saver lets other
    // writers in between its chunks (it holds the lock for 400 ms of writing at most, save-analysis.ts).
    writeFileSync(
      cfg,
      JSON.stringify({
        name: 'conc',
        model: 'pdlm-4l-256',
        dataset,
        dataset_split: 'all',
        context_size: 16,
        batch_size: 240,
        total_training_tokens: 240 * 2,
        norm_estimation_tokens: 1000,
        shuffle_windows: 32,
        lr: 3e-3,
        backend: 'wasm',
        sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 4096, act_fn: 'topk', top_k: 16 },
      }),
    );
    expect((await runCli(['train', '--config', cfg, '--run-id', 't'], home)).status).toBe(0);
    const analyze = (tokens: number) =>
      ['analyze', '--dictionary', 'conc', '--dataset', dataset, '--split', 'all', '--tokens', String(tokens)].concat([
        '--backend',
        'wasm',
      ]);
    expect((await runCli(analyze(500), home)).status).toBe(0);
    const serve = await startServe(home, ['--allow', dataset]);
    serves.push(serve);

    // The staging row of the analysis being saved, polled read-only: when the chunked save is under way.
    const db = new Database(join(home, 'studio.db'), { readonly: true, fileMustExist: true });
    const saving = () =>
      (db.prepare("SELECT count(*) AS n FROM analyses WHERE name LIKE '~saving~%'").get() as { n: number }).n > 0;

    const cli = runCli(analyze(8000), home);
    let done = false;
    void cli.then(() => (done = true));
    const latencies: { method: string; ms: number; status: number; duringSave: boolean }[] = [];
    const written = new Map<number, string>();
    for (let i = 0; !done; i++) {
      const index = (i * 37) % 4096;
      const text = `written during analyze #${i}`;
      const during = saving();
      const w = await serve.call('setInterpretation', { dictionary: 'conc', index, text });
      latencies.push({ method: 'setInterpretation', ms: w.ms, status: w.status, duringSave: during || saving() });
      if (w.status === 200) written.set(index, text);
      const r = await serve.call('getFeature', { dictionary: 'conc', index: (index + 1) % 4096 });
      latencies.push({ method: 'getFeature', ms: r.ms, status: r.status, duringSave: during || saving() });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    db.close();
    const run = await cli;
    expect(run.status, run.stderr).toBe(0);

    const slowest = Math.max(...latencies.map((l) => l.ms));
    console.log(
      `analyze while saving: ${latencies.length} requests, ${latencies.filter((l) => l.duringSave).length} during the ` +
        `store's save, slowest ${slowest.toFixed(0)} ms, median ${latencies
          .map((l) => l.ms)
          .sort((a, b) => a - b)
          [latencies.length >> 1]!.toFixed(0)} ms`,
    );
    mkdirSync(join(ROOT, 'tests', '.artifacts'), { recursive: true });
    writeFileSync(
      join(ROOT, 'tests', '.artifacts', 'concurrency-analyze.json'),
      JSON.stringify({ requests: latencies.length, writes: written.size, slowestMs: slowest, latencies }, null, 1),
    );
    expect(latencies.filter((l) => l.status !== 200)).toEqual([]);
    expect(slowest).toBeLessThan(1000);
    expect(latencies.filter((l) => l.duringSave && l.method === 'setInterpretation').length).toBeGreaterThanOrEqual(3);
    for (const [index, text] of written) {
      const f = await serve.call('getFeature', { dictionary: 'conc', index });
      expect((f.json as { interpretation?: { text: string } }).interpretation?.text, `feature ${index}`).toBe(text);
    }
    const store = checkStore(home, 'conc')!;
    expect(store.integrity).toBe('ok');
    expect(store.staged).toBe(0);
    const check = new Database(join(home, 'studio.db'), { readonly: true });
    const tokens = check.prepare("SELECT n_analyzed_tokens AS n FROM analyses WHERE name = 'default'").get() as {
      n: number;
    };
    check.close();
    expect(tokens.n).toBeGreaterThanOrEqual(8000);
  }, 300_000);
});
