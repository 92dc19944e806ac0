// `sae-studio train` / `eval` / `generate` as real processes: a run killed with SIGKILL mid-training and
// resumed ends with the weights of an uninterrupted run; bad configs and data fail with one-line errors.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/core/tensor/safetensors';
import { hasBackend } from '../helpers/backends';
import { errorLines, runCli } from '../helpers/cli';
import { PDLM_REFERENCE, ROOT } from '../helpers/fixtures';
import { smallTextDataset, smallTrainConfig, tempHome } from '../helpers/train-fixtures';

function writeConfig(cfg: object): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sae-studio-cfg-')), 'train.json');
  writeFileSync(f, JSON.stringify(cfg));
  return f;
}

function weights(home: string, name: string): Record<string, Float32Array> {
  const f = openSafetensors(join(home, 'dictionaries', name, 'sae_weights.safetensors'));
  return Object.fromEntries(f.names().map((n) => [n, Float32Array.from(f.readFloat32(n))]));
}

// The text dataset every suite below trains on.
let dataset: string;
beforeAll(() => {
  dataset = smallTextDataset();
});

describe('sae-studio train: resuming a killed run', () => {
  it('resumes a SIGKILLed run to the same final weights as an uninterrupted run', async () => {
    const cfg = smallTrainConfig(dataset, { total_training_tokens: 256 * 40, checkpoint_every_tokens: 256 * 4 });
    const config = writeConfig(cfg);
    const homeA = tempHome();
    const a = runCli(['train', '--config', config, '--run-id', 'a'], { SAE_STUDIO_HOME: homeA });
    expect(a.status, a.stderr).toBe(0);

    const homeB = tempHome();
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'sae-studio.js'), 'train', '--config', config, '--run-id', 'b'],
      {
        env: { ...process.env, SAE_STUDIO_HOME: homeB },
        stdio: 'ignore',
      },
    );
    const checkpoints = join(homeB, 'runs', 'b', 'checkpoints');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(checkpoints) && readdirSync(checkpoints).some((d) => d.startsWith('step-'))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('training finished before it could be killed'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(join(homeB, 'dictionaries', 'small'))).toBe(false);
    const b = runCli(['train', '--resume', 'b'], { SAE_STUDIO_HOME: homeB });
    expect(b.status, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).steps).toBe(40);
    const wa = weights(homeA, 'small');
    const wb = weights(homeB, 'small');
    for (const n of Object.keys(wa)) expect(wb[n], n).toEqual(wa[n]);
  }, 600_000);
});

describe('sae-studio eval: the trained dictionary on wasm and webgpu', () => {
  // The wasm evaluation, kept for the webgpu one to compare with.
  let evaluated: { home: string; windows: string; ev: Record<string, number> } | undefined;

  it('evaluates the trained dictionary with `sae-studio eval`', () => {
    const home = tempHome();
    const t = runCli(
      ['train', '--config', writeConfig(smallTrainConfig(dataset, { checkpoint_every_tokens: null })), '--run-id', 'e'],
      { SAE_STUDIO_HOME: home },
    );
    expect(t.status, t.stderr).toBe(0);
    const windows = join(mkdtempSync(join(tmpdir(), 'w-')), 'w.json');
    const val = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors')).readInt32('val_windows');
    writeFileSync(windows, JSON.stringify([Array.from(val.subarray(0, 64)), Array.from(val.subarray(256, 320))]));
    const r = runCli(['eval', '--dictionary', 'small', '--windows', windows, '--backend', 'wasm'], {
      SAE_STUDIO_HOME: home,
    });
    expect(r.status, r.stderr).toBe(0);
    const ev = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of [
      'explained_variance',
      'l0',
      'mse',
      'dead_fraction',
      'ce_orig',
      'ce_with_dictionary',
      'ce_zero_ablation',
      'ce_loss_recovered',
    ])
      expect(typeof ev[k], k).toBe('number');
    expect(ev.l0).toBeLessThanOrEqual(8);
    expect(ev.ce_zero_ablation).toBeGreaterThan(ev.ce_with_dictionary ?? Number.NaN);
    evaluated = { home, windows, ev };
  }, 300_000);

  // The same evaluation on webgpu (the fused LM kernels, the WGSL sparse encoder): the same firings, the same
  // numbers to float rounding.
  it.skipIf(!hasBackend('webgpu'))(
    'evaluates to the same numbers on webgpu (needs a webgpu adapter)',
    () => {
      if (!evaluated) throw new Error('the wasm evaluation above did not complete');
      const { home, windows, ev } = evaluated;
      const g = runCli(['eval', '--dictionary', 'small', '--windows', windows, '--backend', 'webgpu'], {
        SAE_STUDIO_HOME: home,
      });
      expect(g.status, g.stderr).toBe(0);
      const evg = JSON.parse(g.stdout) as Record<string, unknown>;
      for (const k of ['tokens', 'l0', 'dead_fraction', 'frequency_buckets']) expect(evg[k], k).toEqual(ev[k]);
      for (const k of [
        'explained_variance',
        'mse',
        'l2_ratio',
        'ce_orig',
        'ce_with_dictionary',
        'ce_zero_ablation',
        'ce_loss_recovered',
      ]) {
        const want = ev[k] ?? Number.NaN;
        expect(Math.abs((evg[k] as number) - want), k).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
      }
    },
    300_000,
  );
});

describe('sae-studio train: bad input', () => {
  const bad = (cfg: object, pattern: RegExp, env: Record<string, string> = {}) => {
    const r = runCli(['train', '--config', writeConfig(cfg)], { SAE_STUDIO_HOME: tempHome(), ...env });
    expect(r.status, r.stdout).not.toBe(0);
    const lines = errorLines(r.stderr).filter((l) => l.startsWith('sae-studio'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  it('an unknown field', () => bad({ ...smallTrainConfig('x'), learning_rate: 1 }, /unknown field 'learning_rate'/));
  it('a wrong type', () =>
    bad({ ...smallTrainConfig('x'), batch_size: '256' }, /field 'batch_size': .*expected number/i));
  it('an out-of-range value', () =>
    bad({ ...smallTrainConfig('x'), lr: -1 }, /field 'lr': .*(>0|positive|too small)/i));
  it('an invalid activation function', () =>
    bad(
      smallTrainConfig('x', { sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 64, act_fn: 'gelu' } }),
      /field 'act_fn': .*relu.*jumprelu.*topk.*batchtopk/,
    ));
  it('top_k larger than d_sae', () =>
    bad(
      smallTrainConfig(dataset, {
        sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 16, act_fn: 'topk', top_k: 32 },
      }),
      /top_k.*at most d_sae = 16/,
    ));
  it('a batch larger than the whole run', () =>
    bad(
      { ...smallTrainConfig(dataset), total_training_tokens: 1000, batch_size: 4096 },
      /field 'batch_size': must be at most total_training_tokens = 1000 \(one step\)/,
    ));
  it('a hook that is not in the model', () =>
    bad(
      smallTrainConfig(dataset, {
        sae: { hook_point_in: 'blocks.9.hook_resid_post', d_sae: 64, act_fn: 'topk', top_k: 4 },
      }),
      /sae\.hook_point: unknown hook 'blocks\.9\.hook_resid_post'/,
    ));
  it('a d_model that does not match the model', () =>
    bad(
      smallTrainConfig(dataset, {
        sae: { hook_point_in: 'blocks.1.hook_resid_post', d_model: 512, d_sae: 64, act_fn: 'topk', top_k: 4 },
      }),
      /sae\.d_model is 512, but .* has d_model 256/,
    ));
  it('an empty dataset folder', () =>
    bad(smallTrainConfig(mkdtempSync(join(tmpdir(), 'empty-'))), /empty-.*(no \.txt|no documents|empty)/i));
  it('a missing config file', () => {
    const r = runCli(['train', '--config', '/nonexistent.json']);
    expect(errorLines(r.stderr)[0]).toMatch(/\/nonexistent\.json: config file not found/);
  });
});

describe('sae-studio train: a corrupt or mismatched activation cache', () => {
  it('rejects a corrupt activation-cache chunk and a d_model mismatch with the cache', () => {
    const home = tempHome();
    const cache = join(home, 'cache');
    const g = runCli(
      [
        'generate',
        '--model',
        'pdlm-4l-256',
        '--dataset',
        dataset,
        '--hooks',
        'blocks.1.hook_resid_post',
        '--out',
        cache,
        '--context-size',
        '64',
        '--chunk-size',
        '16',
        '--max-windows',
        '48',
        '--backend',
        'wasm',
      ],
      { SAE_STUDIO_HOME: home },
    );
    expect(g.status, g.stderr).toBe(0);
    const hookDir = join(cache, 'blocks.1.hook_resid_post');
    const chunks = readdirSync(hookDir)
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    expect(chunks).toHaveLength(3);
    const cfg = smallTrainConfig(dataset, {
      activation_cache: cache,
      total_training_tokens: 256 * 2,
      checkpoint_every_tokens: null,
    });
    const ok = runCli(['train', '--config', writeConfig(cfg), '--run-id', 'ok'], { SAE_STUDIO_HOME: home });
    expect(ok.status, ok.stderr).toBe(0);
    // The second chunk (checked to exist above) is the one damaged.
    const f = join(hookDir, chunks[1] ?? 'chunk-00000001.safetensors');
    truncateSync(f, statSync(f).size - 100);
    const r = runCli(['train', '--config', writeConfig(cfg), '--run-id', 'corrupt'], { SAE_STUDIO_HOME: home });
    expect(r.status).not.toBe(0);
    expect(errorLines(r.stderr).find((l) => l.startsWith('sae-studio'))).toMatch(/chunk-00000001\.safetensors/);
    const manifest = JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toHaveProperty('d_model');
  }, 300_000);
});
