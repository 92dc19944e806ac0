// The `tokenize`, `lm forward` and `lm eval` commands end to end, on the embedded model and the fixtures.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors } from '../../src/core/tensor/safetensors';
import { runCli } from '../helpers/cli';
import { expectClose } from '../helpers/expect-close';
import { archFixture, PDLM_REFERENCE } from '../helpers/fixtures';
import { readFileSync } from 'node:fs';

const tmp = () => mkdtempSync(join(tmpdir(), 'sae-studio-cli-'));

describe('sae-studio tokenize', () => {
  const cases = JSON.parse(readFileSync(join(PDLM_REFERENCE, 'tokenizer_reference.json'), 'utf8')) as {
    text: string;
    ids: number[];
  }[];
  for (const c of cases) {
    it(`reproduces HF tokenizers on ${JSON.stringify(c.text).slice(0, 40)}`, () => {
      const r = runCli(['tokenize', '--model', 'pdlm-4l-256', '--text', c.text]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(c.ids);
    });
  }
});

describe('sae-studio lm forward', () => {
  it('writes logits and hooks that match the pdlm-4l-256 reference (I64 input_ids from safetensors)', () => {
    const out = join(tmp(), 'out.safetensors');
    const hooks = ['blocks.1.hook_resid_pre', 'blocks.3.hook_mlp_out', 'ln_final.hook_normalized'];
    const r = runCli([
      'lm',
      'forward',
      '--model',
      'pdlm-4l-256',
      '--ids',
      join(PDLM_REFERENCE, 'reference.safetensors'),
      '--hooks',
      hooks.join(','),
      '--out',
      out,
      '--backend',
      'wasm',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const ref = openSafetensors(join(PDLM_REFERENCE, 'reference.safetensors'));
    const got = openSafetensors(out);
    expect(got.names().sort()).toEqual(['logits', ...hooks].sort());
    expect(got.info('logits').shape).toEqual([2, 32, 8192]);
    expectClose(got.readFloat32('logits'), ref.readFloat32('logits'), { rtol: 1e-4, label: 'logits' });
    expectClose(got.readFloat32('blocks.1.hook_resid_pre'), ref.readFloat32('hidden_states.1'), {
      rtol: 1e-4,
      label: 'hidden_states.1',
    });
    expectClose(got.readFloat32('blocks.3.hook_mlp_out'), ref.readFloat32('hf.transformer.h.3.mlp'), {
      rtol: 1e-4,
      label: 'h.3.mlp',
    });
    expectClose(got.readFloat32('ln_final.hook_normalized'), ref.readFloat32('hidden_states.4'), {
      rtol: 1e-4,
      label: 'hidden_states.4',
    });
  });

  it('takes a JSON array of ids and stops early with --no-logits', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'ids.json'),
      JSON.stringify([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]),
    );
    const r = runCli([
      'lm',
      'forward',
      '--model',
      archFixture('llama'),
      '--ids',
      join(dir, 'ids.json'),
      '--hooks',
      'blocks.0.attn.hook_pattern',
      '--no-logits',
      '--out',
      join(dir, 'o.safetensors'),
      '--backend',
      'cpu',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tensors).toEqual({ 'blocks.0.attn.hook_pattern': [2, 4, 4, 4] });
  });
});

describe('sae-studio lm eval', () => {
  it('gives 3.7666 ± 0.001 nats on the 442 validation windows of pdlm-4l-256', () => {
    const r = runCli([
      'lm',
      'eval',
      '--model',
      'pdlm-4l-256',
      '--windows',
      join(PDLM_REFERENCE, 'val_windows.safetensors'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { cross_entropy: number; tokens: number };
    expect(res.tokens).toBe(442 * 255);
    expect(Math.abs(res.cross_entropy - 3.7666)).toBeLessThanOrEqual(0.001);
  }, 900_000);

  it('accepts windows in any integer dtype', () => {
    const dir = tmp();
    const ids = new Uint16Array([0, 35, 345, 396, 0, 1695, 260, 2717]);
    writeSafetensors(join(dir, 'w.safetensors'), { tokens: { dtype: 'U16', shape: [2, 4], data: ids } });
    const r = runCli([
      'lm',
      'eval',
      '--model',
      'pdlm-4l-256',
      '--windows',
      join(dir, 'w.safetensors'),
      '--backend',
      'cpu',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { cross_entropy: number; tokens: number };
    expect(res.tokens).toBe(6);
    expect(res.cross_entropy).toBeGreaterThan(0);
  });
});
