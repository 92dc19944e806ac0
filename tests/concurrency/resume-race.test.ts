// Two `sae-studio train --resume` processes started at the same moment on one killed run (no studio running): the
// run's lock lets exactly one engine train — the other is refused in one line naming the winner, before it touches
// the run folder — and the run ends bit-identical to an uninterrupted one. Repeated over several races.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallTextDataset } from '../helpers/train-fixtures';
import { dirDigest, leftovers, runCli } from '../kill/kill-harness';

const RACES = 3;

describe('two engines asked to resume one run', () => {
  it(`one trains, the other is refused (${RACES} races)`, async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'sae-studio-race-')), 'train.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        name: 'race',
        model: 'pdlm-4l-256',
        dataset: smallTextDataset(),
        dataset_split: 'all',
        context_size: 16,
        batch_size: 240,
        total_training_tokens: 240 * 8,
        norm_estimation_tokens: 1000,
        shuffle_windows: 32,
        lr: 3e-3,
        checkpoint_every_tokens: 240,
        backend: 'wasm',
        sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 64, act_fn: 'topk', top_k: 4 },
      }),
    );
    const refHome = mkdtempSync(join(tmpdir(), 'sae-studio-race-ref-'));
    expect((await runCli(['train', '--config', cfg, '--run-id', 'r'], refHome)).status).toBe(0);
    const reference = dirDigest(join(refHome, 'dictionaries', 'race'));

    for (let race = 0; race < RACES; race++) {
      const home = mkdtempSync(join(tmpdir(), 'sae-studio-race-'));
      const killed = await runCli(['train', '--config', cfg, '--run-id', 'r'], home, {
        env: { SAE_STUDIO_TEST_KILL_AT: 'checkpoint:before-rename@3' },
      });
      expect(killed.signal).toBe('SIGKILL');
      const both = await Promise.all([
        runCli(['train', '--resume', 'r'], home),
        runCli(['train', '--resume', 'r'], home),
      ]);
      const won = both.filter((r) => r.status === 0);
      const lost = both.filter((r) => r.status !== 0);
      expect([won.length, lost.length], both.map((r) => r.stderr.slice(-300)).join('\n')).toEqual([1, 1]);
      expect(lost[0]!.status).toBe(2);
      expect(lost[0]!.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^sae-studio: error: run 'r' is being run by sae-studio train \(pid \d+, since .*\); wait for it/,
        ),
      ]);
      expect(dirDigest(join(home, 'dictionaries', 'race'))).toBe(reference);
      expect(leftovers(home)).toEqual([]);
    }
  }, 300_000);
});
