// A full disk, for real: the studio home lies on a small tmpfs, filled with a file until the next write cannot fit
// (needs root and `mount -t tmpfs`; skipped, with a notice, where mounting is not allowed). At a checkpoint: `train`
// stops with one line, the previous checkpoint intact and nothing half-written; with space freed, `train --resume`
// completes bit-identical to an uninterrupted run. At the store's save: `analyze` stops with one line, the store
// passes its integrity check and still shows the previous analysis whole; with space freed, `analyze` again saves
// the same rows as a run that never ran out of space.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/core/sae/checkpoint';
import { checkStore, dirDigest, leftovers, runCli } from './kill-harness';
import { killDataset } from './kill-scenarios';

const mounted: string[] = [];

/** The lines of stderr that are errors or stack frames (progress lines aside): there must be exactly one. */
const errors = (stderr: string) => stderr.split('\n').filter((l) => /error|^\s+at /i.test(l));

function mountTmpfs(sizeMb: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-studio-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
  mounted.push(dir);
  return dir;
}

const CAN_MOUNT = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'sae-studio-tmpfs-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  return ok;
})();
if (!CAN_MOUNT) console.warn('NOTICE: disk-full tests skipped: they need root and `mount -t tmpfs` (a real full disk)');

afterAll(() => {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
});

/** Fills the file system of `root` with `root/filler` until `leaveKb` kB are free. */
function fillUntil(root: string, leaveKb: number): string {
  const fs = statfsSync(root);
  const free = fs.bavail * fs.bsize;
  const filler = join(root, 'filler');
  execFileSync('fallocate', ['-l', String(Math.max(0, free - leaveKb * 1024)), filler]);
  return filler;
}

/** kB the files under `dir` take on a file system of 4 kB pages. */
function diskKb(dir: string): number {
  let kb = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) kb += Math.ceil(statSync(join(e.parentPath, e.name)).size / 4096) * 4;
  return kb;
}

const dataset = killDataset();
const config = (name: string) => ({
  name,
  model: 'pdlm-4l-256',
  dataset,
  dataset_split: 'all',
  context_size: 16,
  batch_size: 240,
  total_training_tokens: 240 * 4,
  norm_estimation_tokens: 1000,
  shuffle_windows: 32,
  lr: 3e-3,
  lr_warm_up_steps: 1,
  log_frequency: 1,
  checkpoint_every_tokens: 240,
  backend: 'wasm',
  sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 512, act_fn: 'topk', top_k: 4 },
});

describe.skipIf(!CAN_MOUNT)('disk full (a real tmpfs)', () => {
  it('at a checkpoint: one line, the previous checkpoint intact; with space freed the resume ends bit-identical', async () => {
    const cfgFile = join(mkdtempSync(join(tmpdir(), 'sae-studio-full-cfg-')), 'train.json');
    writeFileSync(cfgFile, JSON.stringify(config('full-ckpt')));
    const refHome = mkdtempSync(join(tmpdir(), 'sae-studio-full-ref-'));
    const ref = await runCli(['train', '--config', cfgFile, '--run-id', 'k'], refHome);
    expect(ref.status, ref.stderr).toBe(0);
    const checkpoints = join(refHome, 'runs', 'k', 'checkpoints');
    const checkpointKb = diskKb(join(checkpoints, readdirSync(checkpoints)[0]!));
    const tokensKb = diskKb(join(refHome, 'tokens'));

    const root = mountTmpfs(64);
    const home = join(root, 'home');
    mkdirSync(home);
    // Room for the token cache, the run's config and one checkpoint and a half: the second checkpoint cannot fit.
    const filler = fillUntil(root, tokensKb + Math.round(checkpointKb * 1.5) + 32);
    const full = await runCli(['train', '--config', cfgFile, '--run-id', 'k'], home);
    expect(full.status, full.stderr).toBe(2);
    expect(errors(full.stderr)).toEqual([
      expect.stringMatching(
        /^sae-studio: error: .*step-00000002: checkpoint at step 2 could not be written \(no space left on device\); the checkpoint at step 1 is intact$/,
      ),
    ]);
    expect(readdirSync(join(home, 'runs', 'k', 'checkpoints'))).toEqual(['step-00000001']);
    expect(readCheckpoint(join(home, 'runs', 'k', 'checkpoints', 'step-00000001')).tensors).toBeTruthy();
    expect(leftovers(home)).toEqual([]);
    expect(readdirSync(join(home, 'dictionaries'))).toEqual([]);

    rmSync(filler);
    const resumed = await runCli(['train', '--resume', 'k'], home);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed from step 1/);
    expect(dirDigest(join(home, 'dictionaries', 'full-ckpt'))).toBe(
      dirDigest(join(refHome, 'dictionaries', 'full-ckpt')),
    );
    expect(leftovers(home)).toEqual([]);
  }, 240_000);

  it("at the store's save: one line, the previous analysis whole; with space freed the analysis saves", async () => {
    const root = mountTmpfs(64);
    const home = join(root, 'home');
    mkdirSync(home);
    const cfgFile = join(home, 'train.json');
    writeFileSync(cfgFile, JSON.stringify(config('full-store')));
    expect((await runCli(['train', '--config', cfgFile, '--run-id', 't'], home)).status).toBe(0);
    const analyze = (tokens: number) =>
      [
        'analyze',
        '--dictionary',
        'full-store',
        '--dataset',
        dataset,
        '--split',
        'all',
        '--tokens',
        String(tokens),
      ].concat(['--backend', 'wasm']);
    expect((await runCli(analyze(1000), home)).status).toBe(0);
    const previous = checkStore(home, 'full-store')!.analysis;
    // The same analysis where the disk has room: the rows the saved one must have.
    const refHome = mkdtempSync(join(tmpdir(), 'sae-studio-full-ref-'));
    cpSync(home, refHome, { recursive: true });
    expect((await runCli(analyze(3000), refHome)).status).toBe(0);
    const reference = checkStore(refHome, 'full-store')!.analysis;
    expect(reference).not.toBe(previous);

    const filler = fillUntil(root, 48);
    const full = await runCli(analyze(3000), home);
    expect(full.status, full.stderr).toBe(2);
    expect(errors(full.stderr)).toEqual([
      `sae-studio: error: ${join(home, 'studio.db')}: no space left on device while saving the analysis 'default' of 'full-store'; nothing was changed (what was there is intact); free some space and run it again`,
    ]);
    const after = checkStore(home, 'full-store')!;
    expect(after.integrity).toBe('ok');
    expect(after.analysis).toBe(previous); // the previous analysis, whole
    expect(leftovers(home)).toEqual([]);

    rmSync(filler);
    const again = await runCli(analyze(3000), home);
    expect(again.status, again.stderr).toBe(0);
    const end = checkStore(home, 'full-store')!;
    expect(end).toEqual({ integrity: 'ok', staged: 0, analysis: reference });
    expect(leftovers(home)).toEqual([]);
  }, 240_000);
});
