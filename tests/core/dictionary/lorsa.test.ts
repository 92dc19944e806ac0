// The Lorsa kind's float64 side: config errors, the reference against the spec's formulas written out in
// ./lorsa-fixtures.ts, rotary and QK-norm details, the fold and the state_dict layout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { lorsaKind, lorsaRepeatQkHeads } from '../../../src/core/dictionary/kinds/lorsa';
import { lorsaAttention64, lorsaRotaryFrequencies } from '../../../src/core/dictionary/kinds/lorsa-math';
import { openSafetensors, serializeSafetensors } from '../../../src/core/tensor/safetensors';
import { LorsaConfigSchema } from '../../../src/protocol/kind-configs/lorsa';
import { expectClose } from '../../helpers/expect-close';
import {
  HOOK_IN,
  HOOK_OUT,
  forwardDirect,
  lorsaCfg,
  randomParams,
  randomX,
  rotateDirect,
  to64,
} from './lorsa-fixtures';

describe('Lorsa config', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['hooks equal', { hook_point_out: HOOK_IN }, 'hook_point_out'],
    ['d_sae not a multiple of n_qk_heads', { d_sae: 10, n_qk_heads: 4 }, 'n_qk_heads'],
    ['odd rotary_dim', { rotary_dim: 3 }, 'rotary_dim'],
    ['rotary_dim > d_qk_head', { rotary_dim: 6 }, 'rotary_dim'],
    ['unknown positional embedding', { positional_embedding_type: 'alibi' }, 'positional_embedding_type'],
    ['QK norm without RMS', { use_post_qk_ln: true, normalization_type: 'LN' }, 'normalization_type'],
    ['QK norm with no type', { use_post_qk_ln: true }, 'normalization_type'],
    ['missing n_ctx', { n_ctx: undefined }, 'n_ctx'],
    ['layer-wide TopK', { act_fn: 'layertopk' }, 'act_fn'],
    ['top_k above d_sae', { top_k: 13 }, 'top_k'],
    ['NTK factors equal', { use_NTK_by_parts_rope: true }, 'NTK_by_parts_high_freq_factor'],
  ];
  it.each(cases)('%s is a one-line error naming the field', (_name, overrides, field) => {
    let message = '';
    try {
      lorsaCfg(overrides);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^lorsa\\.json: field '${field}'`));
    expect(message).not.toContain('\n');
  });

  it('fills attn_scale with √d_qk_head and keeps lm-saes defaults', () => {
    const cfg = lorsaCfg();
    expect(cfg.attn_scale).toBe(2);
    expect(cfg.rotary_base).toBe(10000);
    expect(cfg.rotary_adjacent_pairs).toBe(true);
    expect(cfg.eps).toBe(1e-6);
    expect(cfg.old_context_len).toBe(2048);
  });

  it('round-trips config.json and rejects an unknown field that could change the forward pass', () => {
    const cfg = lorsaCfg({ act_fn: 'jumprelu', use_post_qk_ln: true, normalization_type: 'RMS' });
    const json = lorsaKind.configJson(cfg);
    expect(json).not.toHaveProperty('dtype');
    expect(json).not.toHaveProperty('device');
    expect(Math.trunc(cfg.d_model * (json.expansion_factor as number))).toBe(cfg.d_sae);
    const lmSaes = { ...json, d_sae: undefined, use_triton_kernel: true, device: 'cuda', dtype: 'torch.bfloat16' };
    delete lmSaes.d_sae;
    const back = parseConfig(LorsaConfigSchema, lorsaKind.translateLmSaesConfig(lmSaes, 'c.json'), 'c.json');
    expect(back).toEqual(cfg);
    expect(() => lorsaKind.translateLmSaesConfig({ ...json, use_z_relu: true }, 'c.json')).toThrow(
      /^c\.json: field 'use_z_relu'/,
    );
    expect(() => lorsaKind.translateLmSaesConfig({ ...json, sae_type: 'sae' }, 'c.json')).toThrow(/field 'sae_type'/);
  });
});

describe('Lorsa init and loading', () => {
  it("follows lm-saes's init: xavier-uniform QK, N(0, 1/F) W_V, N(0, 1/d) W_O, zero biases, unit QK norm", () => {
    const cfg = lorsaCfg({
      d_model: 64,
      d_sae: 256,
      n_qk_heads: 4,
      d_qk_head: 16,
      rotary_dim: 16,
      act_fn: 'jumprelu',
      use_post_qk_ln: true,
      normalization_type: 'RMS',
    });
    const p = lorsaKind.init(cfg, 3);
    const bound = Math.sqrt(6 / (64 * 16 + 4 * 16));
    const wq = Array.from(p.W_Q!.data);
    expect(Math.max(...wq.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...wq.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std(p.W_V!.data) * Math.sqrt(256)).toBeCloseTo(1, 1);
    expect(std(p.W_O!.data) * Math.sqrt(64)).toBeCloseTo(1, 1);
    for (const name of ['b_Q', 'b_K', 'b_V', 'b_D']) expect(p[name]!.data.every((v) => v === 0)).toBe(true);
    expect(p['ln_q.w']!.data.every((v) => v === 1)).toBe(true);
    expect(p['activation_function.log_jumprelu_threshold']!.data[0]).toBeCloseTo(Math.log(0.001), 6);
    expect(Array.from(lorsaKind.init(cfg, 3).W_V!.data)).toEqual(Array.from(p.W_V!.data));
    expect(Array.from(lorsaKind.init(cfg, 4).W_V!.data)).not.toEqual(Array.from(p.W_V!.data));
    for (const [name, shape] of Object.entries(lorsaKind.stateShapes(cfg))) expect(p[name]!.shape, name).toEqual(shape);
  });

  it('repeat-interleaves a checkpoint with fewer QK heads, as lm-saes loading does', () => {
    const cfg = lorsaCfg({ n_qk_heads: 6, use_post_qk_ln: true, normalization_type: 'RMS' });
    const small = lorsaCfg({ n_qk_heads: 2, use_post_qk_ln: true, normalization_type: 'RMS' });
    const p = randomParams(small, 9);
    const out = lorsaRepeatQkHeads(cfg, p, 'w.safetensors');
    for (const name of ['W_Q', 'W_K', 'b_Q', 'b_K', 'ln_q.w', 'ln_k.w']) {
      const per = p[name]!.data.length / 2;
      expect(out[name]!.shape[0]).toBe(6);
      for (let g = 0; g < 6; g++)
        expect(Array.from(out[name]!.data.subarray(g * per, (g + 1) * per))).toEqual(
          Array.from(p[name]!.data.subarray(Math.floor(g / 3) * per, (Math.floor(g / 3) + 1) * per)),
        );
    }
    const four = lorsaCfg({ n_qk_heads: 4 });
    expect(() => lorsaRepeatQkHeads(four, randomParams(lorsaCfg({ n_qk_heads: 3 }), 1), 'w.safetensors')).toThrow(
      /^w\.safetensors: tensor 'W_Q' has 3 QK heads/,
    );
  });

  it('rejects sequences longer than n_ctx, naming it', () => {
    const cfg = lorsaCfg();
    expect(() => lorsaKind.reference(cfg, randomParams(cfg, 1), { x: randomX(7 * 8, 1), B: 1, S: 7 })).toThrow(
      /field 'n_ctx'/,
    );
  });
});

describe('Lorsa state_dict layout', () => {
  it('lists lm-saes keys and shapes, buffers included', () => {
    const cfg = lorsaCfg({ act_fn: 'jumprelu', use_post_qk_ln: true, normalization_type: 'RMS' });
    expect(lorsaKind.stateShapes(cfg)).toEqual({
      W_Q: [3, 8, 4],
      W_K: [3, 8, 4],
      W_V: [12, 8],
      W_O: [12, 8],
      b_Q: [3, 4],
      b_K: [3, 4],
      b_V: [12],
      b_D: [8],
      'ln_q.w': [3, 4],
      'ln_k.w': [3, 4],
      'activation_function.log_jumprelu_threshold': [12],
      mask: [6, 6],
      IGNORE: [],
      rotary_sin: [6, 4],
      rotary_cos: [6, 4],
    });
    expect(lorsaKind.trainable(cfg).sort()).toEqual(
      [
        'W_Q',
        'W_K',
        'W_V',
        'W_O',
        'b_Q',
        'b_K',
        'b_V',
        'b_D',
        'ln_q.w',
        'ln_k.w',
        'activation_function.log_jumprelu_threshold',
      ].sort(),
    );
    const plain = lorsaCfg({ positional_embedding_type: 'none', use_decoder_bias: false });
    expect(Object.keys(lorsaKind.stateShapes(plain)).sort()).toEqual(
      ['W_Q', 'W_K', 'W_V', 'W_O', 'b_Q', 'b_K', 'b_V', 'mask', 'IGNORE'].sort(),
    );
  });

  it('writes the mask as BOOL lower-triangular and IGNORE as −inf, readable back from safetensors', () => {
    const cfg = lorsaCfg();
    const dir = mkdtempSync(join(tmpdir(), 'lorsa-'));
    try {
      const path = join(dir, 'w.safetensors');
      writeFileSync(path, serializeSafetensors(lorsaKind.buffers(cfg)));
      const file = openSafetensors(path);
      expect(file.info('mask').dtype).toBe('BOOL');
      const mask = file.readInt32('mask');
      for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expect(mask[i * 6 + j]).toBe(j <= i ? 1 : 0);
      expect(file.info('IGNORE').shape).toEqual([]);
      expect(file.readFloat32('IGNORE')[0]).toBe(-Infinity);
      expect(file.info('rotary_sin').shape).toEqual([6, 4]);
      file.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('Lorsa reference forward', () => {
  const B = 2;
  const S = 5;
  it.each(['relu', 'jumprelu', 'topk', 'batchtopk'] as const)('equals the spec formulas under %s', (act) => {
    const cfg = lorsaCfg({ act_fn: act, rotary_adjacent_pairs: act !== 'relu' });
    const params = randomParams(cfg, 7);
    if (act === 'jumprelu') params['activation_function.log_jumprelu_threshold']!.data.fill(Math.log(0.05));
    const x = randomX(B * S * 8, 3);
    const got = lorsaKind.reference(cfg, params, { x, B, S });
    const want = forwardDirect(cfg, to64(params), x, B, S);
    expectClose(got.hiddenPre, want.z, { rtol: 1e-6, label: `${act} hiddenPre` });
    expectClose(got.featureActs, want.f, { rtol: 1e-6, label: `${act} featureActs` });
    expectClose(got.recon, want.recon, { rtol: 1e-6, label: `${act} recon` });
    const active = want.f.filter((v) => v > 0).length;
    expect(active, 'some but not all features active').toBeGreaterThan(0);
    expect(active).toBeLessThan(want.f.length);
  });

  it('with the QK norm and rotary_scale 2 equals the spec formulas', () => {
    const cfg = lorsaCfg({ use_post_qk_ln: true, normalization_type: 'RMS', rotary_scale: 2, rotary_dim: 6 });
    const params = randomParams(cfg, 11);
    const x = randomX(B * S * 8, 5);
    const got = lorsaKind.reference(cfg, params, { x, B, S });
    const want = forwardDirect(cfg, to64(params), x, B, S);
    expectClose(got.recon, want.recon, { rtol: 1e-6, label: 'qk-norm recon' });
  });

  it('repeats q and k by rotary_scale only with rotary positions, as lm-saes does', () => {
    const cfg = lorsaCfg({ positional_embedding_type: 'none', rotary_scale: 2 });
    const params = randomParams(cfg, 12);
    const x = randomX(B * S * 8, 6);
    const got = lorsaKind.reference(cfg, params, { x, B, S });
    const same = lorsaKind.reference({ ...cfg, rotary_scale: 1 }, params, { x, B, S });
    expectClose(got.recon, same.recon, { rtol: 1e-12, label: 'rotary_scale without rotary' });
    expectClose(got.recon, forwardDirect(cfg, to64(params), x, B, S).recon, { rtol: 1e-6, label: 'spec' });
  });

  it('with identity activation and one OV head per QK head is multi-head attention with rank-1 OV circuits', () => {
    // act = identity means f = z: the attention part (lorsaAttention64) followed by the decoder, with no gate.
    const cfg = lorsaCfg({ n_qk_heads: 12, positional_embedding_type: 'none' });
    const p = to64(randomParams(cfg, 13));
    const x = randomX(B * S * 8, 9);
    const { z } = lorsaAttention64(cfg, p, x, B, S);
    const d = 8;
    const F = 12;
    const lorsaOut = Array.from({ length: B * S * d }, (_, e) => {
      const t = Math.floor(e / d);
      const c = e % d;
      return Array.from({ length: F }, (_, i) => z[t * F + i]! * p.W_O![i * d + c]!).reduce(
        (a, v) => a + v,
        p.b_D![c]!,
      );
    });
    // MHA: head h has W_Q^h, W_K^h [d, 4] and OV = W_V^h [d, 1] · W_O^h [1, d]; out = Σ_h softmax(QKᵀ/2)·V·W_O + b_D.
    const mha = new Float64Array(B * S * d);
    const proj = (xt: Float64Array, W: Float64Array, b: Float64Array, h: number) =>
      Array.from({ length: 4 }, (_, j) => xt.reduce((s, v, c) => s + v * W[(h * d + c) * 4 + j]!, b[h * 4 + j]!));
    for (let b = 0; b < B; b++)
      for (let qp = 0; qp < S; qp++) {
        const xq = x.subarray((b * S + qp) * d, (b * S + qp + 1) * d);
        for (let c = 0; c < d; c++) mha[(b * S + qp) * d + c] = p.b_D![c]!;
        for (let h = 0; h < F; h++) {
          const q = proj(xq, p.W_Q!, p.b_Q!, h);
          const xs = Array.from({ length: qp + 1 }, (_, kp) => x.subarray((b * S + kp) * d, (b * S + kp + 1) * d));
          const s = xs.map((xk) => proj(xk, p.W_K!, p.b_K!, h).reduce((a, v, j) => a + v * q[j]!, 0) / 2);
          const w = s.map((v) => Math.exp(v));
          const sum = w.reduce((a, v) => a + v, 0);
          const head = xs.reduce(
            (a, xk, kp) => a + (w[kp]! / sum) * xk.reduce((t, v, c) => t + v * p.W_V![h * d + c]!, p.b_V![h]!),
            0,
          );
          for (let c = 0; c < d; c++) mha[(b * S + qp) * d + c]! += head * p.W_O![h * d + c]!;
        }
      }
    expectClose(lorsaOut, mha, { rtol: 1e-10, label: 'identity Lorsa vs MHA' });
  });
});

describe('Lorsa rotary and QK norm', () => {
  it.each([true, false])('rotates q and k as the direct formula (adjacent pairs: %s)', (adjacent) => {
    const cfg = lorsaCfg({ rotary_adjacent_pairs: adjacent, rotary_dim: 4, d_qk_head: 4, n_ctx: 6 });
    const plain = { ...cfg, positional_embedding_type: 'none' as const };
    const p = to64(randomParams(cfg, 17));
    const x = randomX(6 * 8, 19);
    const rotated = lorsaAttention64(cfg, p, x, 1, 6).q;
    const raw = lorsaAttention64(plain, p, x, 1, 6).q;
    const want: number[] = [];
    for (let pos = 0; pos < 6; pos++)
      for (let g = 0; g < 3; g++)
        want.push(...rotateDirect(cfg, Array.from(raw.subarray((pos * 3 + g) * 4, (pos * 3 + g + 1) * 4)), pos));
    expectClose(rotated, want, { rtol: 1e-6, label: `rotated q (adjacent ${adjacent})` });
  });

  it('tables follow lm-saes: sin/cos of pos / base^(j/(r/2)), pairs repeated or tiled', () => {
    for (const adjacent of [true, false]) {
      const cfg = lorsaCfg({ rotary_adjacent_pairs: adjacent, rotary_dim: 4, rotary_base: 100 });
      const buf = lorsaKind.buffers(cfg);
      const sin = buf.rotary_sin!.data as Float32Array;
      const cos = buf.rotary_cos!.data as Float32Array;
      const wantSin: number[] = [];
      const wantCos: number[] = [];
      for (let pos = 0; pos < 6; pos++)
        for (let c = 0; c < 4; c++) {
          const j = adjacent ? Math.floor(c / 2) : c % 2;
          wantSin.push(Math.sin(pos / 100 ** (j / 2)));
          wantCos.push(Math.cos(pos / 100 ** (j / 2)));
        }
      expectClose(sin, wantSin, { rtol: 1e-6, label: `sin (adjacent ${adjacent})` });
      expectClose(cos, wantCos, { rtol: 1e-6, label: `cos (adjacent ${adjacent})` });
    }
  });

  it("NTK-by-parts matches HF's _compute_llama3_parameters inverse frequencies", () => {
    const cfg = lorsaCfg({
      d_qk_head: 16,
      rotary_dim: 16,
      use_NTK_by_parts_rope: true,
      NTK_by_parts_factor: 8,
      NTK_by_parts_low_freq_factor: 1,
      NTK_by_parts_high_freq_factor: 4,
      old_context_len: 64,
    });
    // HF: inv = 1/base^(2i/dim); wavelen = 2π/inv; low/high wavelen = old/low, old/high; wavelen > low → inv/factor;
    // medium (high ≤ wavelen ≤ low) → (1 − s)·inv/factor + s·inv with s = (old/wavelen − low)/(high − low).
    const hf = Array.from({ length: 8 }, (_, i) => {
      const inv = 1 / 10000 ** ((2 * i) / 16);
      const wavelen = (2 * Math.PI) / inv;
      if (wavelen > 64) return inv / 8;
      if (wavelen < 16) return inv;
      const s = (64 / wavelen - 1) / (4 - 1);
      return ((1 - s) * inv) / 8 + s * inv;
    });
    const regions = hf.map((_, i) => 2 * Math.PI * 10000 ** ((2 * i) / 16)).map((w) => (w > 64 ? 2 : w < 16 ? 0 : 1));
    expect(new Set(regions).size, 'all three regions are exercised').toBe(3);
    const ours = Array.from(lorsaRotaryFrequencies(cfg), (f) => 1 / f);
    expectClose(ours, hf, { rtol: 1e-6, label: 'NTK-by-parts inv_freq' });
  });

  it('applies the per-head RMSNorm with its weight before the rotation', () => {
    const cfg = lorsaCfg({ use_post_qk_ln: true, normalization_type: 'RMS', positional_embedding_type: 'none' });
    const p = to64(randomParams(cfg, 23));
    const x = randomX(3 * 8, 29);
    const { k } = lorsaAttention64(cfg, p, x, 1, 3);
    const want: number[] = [];
    for (let t = 0; t < 3; t++)
      for (let g = 0; g < 3; g++) {
        const pre = Array.from({ length: 4 }, (_, j) =>
          Array.from({ length: 8 }, (_, c) => x[t * 8 + c]! * p.W_K![(g * 8 + c) * 4 + j]!).reduce(
            (a, v) => a + v,
            p.b_K![g * 4 + j]!,
          ),
        );
        const rms = Math.sqrt(pre.reduce((a, v) => a + v * v, 0) / 4 + 1e-6);
        want.push(...pre.map((v, j) => (v / rms) * p['ln_k.w']![g * 4 + j]!));
      }
    expectClose(k, want, { rtol: 1e-10, label: 'RMS-normed k' });
  });
});

describe('Lorsa fold', () => {
  it.each(['relu', 'topk', 'jumprelu'] as const)('changes no raw-space reconstruction under %s', (act) => {
    const norms = { [HOOK_IN]: 3.7, [HOOK_OUT]: 0.6 };
    const cfg = lorsaCfg({ act_fn: act, dataset_average_activation_norm: norms });
    const params = randomParams(cfg, 31);
    if (act === 'jumprelu') params['activation_function.log_jumprelu_threshold']!.data.fill(Math.log(0.05));
    const B = 2;
    const S = 4;
    const cIn = Math.sqrt(8) / 3.7;
    const cOut = Math.sqrt(8) / 0.6;
    const raw = randomX(B * S * 8, 37, 1.5);
    const before = lorsaKind.reference(cfg, params, { x: raw.map((v) => v * cIn), B, S });
    const folded = lorsaKind.fold(cfg, params);
    expect(folded.cfg.norm_activation).toBe('inference');
    expect(folded.warnings).toEqual([]);
    const after = lorsaKind.reference(folded.cfg, folded.params, { x: raw, B, S });
    expectClose(
      after.recon,
      before.recon.map((v) => v / cOut),
      { rtol: 1e-5, label: `${act} folded recon` },
    );
    expect(before.featureActs.filter((v) => v > 0).length).toBeGreaterThan(0);
  });
});
