// The cross-layer transcoder's fold (raw-space reconstruction unchanged, §0/§2 of dictionaries-and-circuits.md)
// and the circuit-tracer CLT layout (round trip, folded export, one-line errors).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCircuitTracerClt, importCircuitTracerClt } from '../../../src/core/dictionary/formats/circuit-tracer';
import { cltKind, cltReference } from '../../../src/core/dictionary/kinds/clt';
import { InputError } from '../../../src/core/errors';
import { writeSafetensors } from '../../../src/core/tensor/safetensors';
import { expectClose } from '../../helpers/expect-close';
import { at, config, hooksIn, hooksOut, randomParams, randomX } from './clt-fixtures';

describe('clt fold', () => {
  const N = 6;
  const L = 3;
  const d = 8;
  const normsIn = [2.5, 7, 0.8];
  const normsOut = [1.3, 4, 11];
  /** Raw activations → ×c_in per in-hook → reference → ÷c_out per out-hook, against the folded dictionary on raw x. */
  function foldCase(over: Record<string, unknown>, outNorms = normsOut) {
    const norms: Record<string, number> = {};
    hooksIn(L).forEach((h, s) => (norms[h] = normsIn[s]!));
    hooksOut(L).forEach((h, t) => (norms[h] = outNorms[t]!));
    const cfg = config({ norm_activation: 'dataset-wise', dataset_average_activation_norm: norms, ...over });
    const p = randomParams(cfg, 31);
    const cIn = normsIn.map((v) => Math.sqrt(d) / v);
    const cOut = outNorms.map((v) => Math.sqrt(d) / v);
    const raw = randomX(
      N,
      L,
      d,
      32,
      normsIn.map((v) => (v / Math.sqrt(d)) * 1.5),
    );
    const normalised = raw.map((v, j) => v * cIn[Math.floor(j / d) % L]!);
    const want = cltReference(cfg, p, { x: normalised, B: 1, S: N }).recon.map(
      (v, j) => v / cOut[Math.floor(j / d) % L]!,
    );
    const folded = cltKind.fold(cfg, p);
    expect(folded.cfg.norm_activation).toBe('inference');
    const got = cltReference(folded.cfg, folded.params, { x: raw, B: 1, S: N }).recon;
    return {
      got,
      want,
      warnings: folded.warnings,
      active: cltReference(cfg, p, { x: normalised, B: 1, S: N }).featureActs,
    };
  }

  for (const [label, over] of [
    ['relu, gated', { act_fn: 'relu' }],
    ['jumprelu, gated (θ rescaled per feature)', { act_fn: 'jumprelu' }],
    ['jumprelu, ungated', { act_fn: 'jumprelu', sparsity_include_decoder_norm: false }],
    ['topk, ungated', { act_fn: 'topk', sparsity_include_decoder_norm: false }],
    ['batchtopk, ungated', { act_fn: 'batchtopk', sparsity_include_decoder_norm: false }],
    ['layertopk, ungated (W_E takes c_in)', { act_fn: 'layertopk', top_k: 8, sparsity_include_decoder_norm: false }],
    ['batchlayertopk, ungated', { act_fn: 'batchlayertopk', top_k: 8, sparsity_include_decoder_norm: false }],
  ] as const)
    it(`is exact for ${label} with unequal norms per hook`, () => {
      const { got, want, warnings, active } = foldCase(over);
      expectClose(got, want, { rtol: 1e-5, label });
      expect(warnings).toEqual([]);
      expect(active.some((v) => v > 0)).toBe(true);
    });

  for (const act of ['topk', 'layertopk', 'batchlayertopk'] as const)
    it(`is exact for gated ${act} when every out-hook has the same norm (unequal in-hook norms)`, () => {
      const { got, want, warnings } = foldCase({ act_fn: act, top_k: 5 }, [3, 3, 3]);
      expectClose(got, want, { rtol: 1e-5, label: act });
      expect(warnings).toEqual([]);
    });

  it('says when the gated TopK fold is approximate (out-hook norms differ)', () => {
    const { warnings } = foldCase({ act_fn: 'topk' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^fold: topk .*approximate/);
  });

  it('keeps an inference dictionary and refuses a token-wise one with a one-line error', () => {
    const cfg = config();
    const p = randomParams(cfg, 1);
    expect(cltKind.fold(cfg, p).params).toBe(p);
    expect(() => cltKind.fold(config({ norm_activation: 'token-wise' }), p)).toThrow(
      /field 'norm_activation': 'token-wise' cannot be folded/,
    );
    expect(() => cltKind.fold(config({ norm_activation: 'dataset-wise' }), p)).toThrow(
      /field 'dataset_average_activation_norm': no norm for 'blocks\.0\.ln2\.hook_normalized'/,
    );
  });
});

describe('clt circuit-tracer layout', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'clt-ct-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const N = 6;

  for (const [label, over] of [
    ['gated jumprelu', { act_fn: 'jumprelu' }],
    ['gated relu', { act_fn: 'relu' }],
    ['ungated jumprelu', { act_fn: 'jumprelu', sparsity_include_decoder_norm: false }],
  ] as const)
    it(`round-trips ${label} lm → circuit-tracer → lm with the same outputs, in circuit-tracer's tensors`, () => {
      const cfg = config(over);
      const p = randomParams(cfg, 41);
      const x = randomX(N, 3, 8, 42);
      const dir = join(tmp(), 'ct');
      exportCircuitTracerClt(dir, cfg, p);
      const back = importCircuitTracerClt(dir, { hookPointsIn: hooksIn(3), hookPointsOut: hooksOut(3) });
      expect(back.cfg).toMatchObject({
        sparsity_include_decoder_norm: false,
        norm_activation: 'inference',
        act_fn: cfg.act_fn,
      });
      const a = cltReference(cfg, p, { x, B: 1, S: N });
      const b = cltReference(back.cfg, back.params, { x, B: 1, S: N });
      expectClose(b.featureActs, a.featureActs, { rtol: 1e-6, label: `${label} featureActs` });
      expectClose(b.recon, a.recon, { rtol: 1e-6, label: `${label} recon` });
      // circuit-tracer's own forward on its files: f = h·[h > θ_s], ŷ_t = Σ_{s≤t} f_s W_dec_s[:, t−s] + b_dec_t.
      const W = (s: number) => at(back.params, `W_D.${s}`);
      expect(W(2)(1, 4, 3)).toBe(at(p, 'W_D.2')(1, 4, 3)); // ct.W_dec_1[:, 1, :] = lm.W_D.2[1]
      expect(back.params.W_E!.data).toEqual(p.W_E!.data);
    });

  it('exports a dataset-wise dictionary folded (raw activations) and refuses the TopK family', () => {
    const norms = Object.fromEntries([...hooksIn(3), ...hooksOut(3)].map((h, j) => [h, 1 + j]));
    const cfg = config({ act_fn: 'jumprelu', norm_activation: 'dataset-wise', dataset_average_activation_norm: norms });
    const p = randomParams(cfg, 43);
    const dir = join(tmp(), 'ct');
    exportCircuitTracerClt(dir, cfg, p);
    const back = importCircuitTracerClt(dir, { hookPointsIn: hooksIn(3), hookPointsOut: hooksOut(3) });
    const folded = cltKind.fold(cfg, p);
    const x = randomX(N, 3, 8, 44, [3, 3, 3]);
    expectClose(
      cltReference(back.cfg, back.params, { x, B: 1, S: N }).recon,
      cltReference(folded.cfg, folded.params, { x, B: 1, S: N }).recon,
      {
        rtol: 1e-6,
        label: 'folded export',
      },
    );
    expect(() =>
      exportCircuitTracerClt(join(tmp(), 'x'), config({ act_fn: 'topk' }), randomParams(config({ act_fn: 'topk' }), 1)),
    ).toThrow(/field 'act_fn': circuit-tracer's CLT takes relu or jumprelu, not 'topk'/);
  });

  it('names a missing file or tensor in one line', () => {
    const cfg = config({ act_fn: 'jumprelu' });
    const p = randomParams(cfg, 45);
    const dir = join(tmp(), 'ct');
    exportCircuitTracerClt(dir, cfg, p);
    expect(importCircuitTracerClt(dir).cfg.hook_points_in).toEqual([0, 1, 2].map((l) => `blocks.${l}.hook_resid_mid`));
    rmSync(join(dir, 'W_dec_1.safetensors'));
    expect(() => importCircuitTracerClt(dir)).toThrow(
      /W_dec_1\.safetensors: missing \(a circuit-tracer CLT has one per layer\)$/,
    );
    const dir2 = join(tmp(), 'ct');
    exportCircuitTracerClt(dir2, cfg, p);
    const F = 12;
    const d = 8;
    writeSafetensors(join(dir2, 'W_enc_2.safetensors'), {
      W_enc_2: { dtype: 'F32', shape: [F, d], data: new Float32Array(F * d) },
      b_enc_2: { dtype: 'F32', shape: [F], data: new Float32Array(F) },
      threshold_2: { dtype: 'F32', shape: [F], data: new Float32Array(F).fill(0.1) },
    });
    const err = (() => {
      try {
        importCircuitTracerClt(dir2);
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/W_enc_2\.safetensors: missing tensor 'b_dec_2' \(expected shape \[8\]\)$/);
    expect(err.message).not.toContain('\n');
    expect(() => importCircuitTracerClt(join(tmp(), 'none'))).toThrow(/none: missing/);
    const shallow = config({}, 2);
    expect(() => exportCircuitTracerClt(dir2, shallow, randomParams(shallow, 1))).toThrow(
      /W_(enc|dec)_2\.safetensors: already there, but this CLT has 2 layers/,
    );
  });
});
