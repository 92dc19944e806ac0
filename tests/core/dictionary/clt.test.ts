// The cross-layer transcoder kind: config errors, the float64 reference against formulas written here from the
// specification (§2 of dictionaries-and-circuits.md), the L = 1 transcoder, the four TopK variants, the file layout,
// init, config.json both ways and the metrics.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import {
  CLT_JUMPRELU_KEY,
  cltDecoderNormsPerTarget,
  cltKind,
  cltReference,
} from '../../../src/core/dictionary/kinds/clt';
import { InputError } from '../../../src/core/errors';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import type { CltConfig } from '../../../src/protocol/kind-configs/clt';
import type { KindActFn } from '../../../src/protocol/kind-configs/common';
import { expectClose } from '../../helpers/expect-close';
import { ALL_ACTS, at, config, hooksIn, hooksOut, randomParams, randomX } from './clt-fixtures';

/**
 * The CLT written straight from the specification: h_s = x_s W_E[s] + b_E[s]; n_{s,i} = sqrt(Σ_{t≥s}
 * ‖W_D.{t}[s,i]‖²); a feature is active when its score (h·n, or h without gating) is selected, and then f = h;
 * y_t = Σ_{s≤t} f_s W_D.{t}[s] + b_D.{t}.
 */
function direct(cfg: CltConfig, p: HostParams, x: Float64Array, N: number, k = cfg.top_k) {
  const L = cfg.hook_points_in.length;
  const { d_model: d, d_sae: F } = cfg;
  const WE = at(p, 'W_E');
  const bE = at(p, 'b_E');
  const norm: number[][] = [];
  for (let s = 0; s < L; s++) {
    norm.push([]);
    for (let i = 0; i < F; i++) {
      let s2 = 0;
      for (let t = s; t < L; t++) for (let c = 0; c < d; c++) s2 += at(p, `W_D.${t}`)(s, i, c) ** 2;
      norm[s]!.push(Math.sqrt(s2));
    }
  }
  const h: number[][][] = [];
  for (let n = 0; n < N; n++) {
    h.push([]);
    for (let s = 0; s < L; s++) {
      h[n]!.push([]);
      for (let i = 0; i < F; i++) {
        let v = bE(s, i);
        for (let c = 0; c < d; c++) v += x[(n * L + s) * d + c]! * WE(s, c, i);
        h[n]![s]!.push(v);
      }
    }
  }
  const score = (n: number, s: number, i: number) =>
    h[n]![s]![i]! * (cfg.sparsity_include_decoder_norm ? norm[s]![i]! : 1);
  const active = new Set<string>();
  const keepTop = (cells: [number, number, number][], kk: number) =>
    [...cells]
      .sort((a, b) => score(...b) - score(...a))
      .slice(0, kk)
      .filter((c) => score(...c) > 0)
      .forEach((c) => active.add(c.join()));
  const cells = (ns: number[], ss: number[]) =>
    ns.flatMap((n) => ss.flatMap((s) => Array.from({ length: F }, (_, i): [number, number, number] => [n, s, i])));
  const tokens = Array.from({ length: N }, (_, n) => n);
  const layerList = Array.from({ length: L }, (_, s) => s);
  if (cfg.act_fn === 'relu' || cfg.act_fn === 'jumprelu') {
    for (const c of cells(tokens, layerList)) {
      const thr = cfg.act_fn === 'relu' ? 0 : Math.exp(at(p, CLT_JUMPRELU_KEY)(c[1], c[2]));
      if (score(...c) > thr) active.add(c.join());
    }
  } else if (cfg.act_fn === 'topk') for (const n of tokens) for (const s of layerList) keepTop(cells([n], [s]), k);
  else if (cfg.act_fn === 'layertopk') for (const n of tokens) keepTop(cells([n], layerList), k);
  else if (cfg.act_fn === 'batchtopk') for (const s of layerList) keepTop(cells(tokens, [s]), k * N);
  else keepTop(cells(tokens, layerList), k * N);
  const f = new Float64Array(N * L * F);
  for (const c of cells(tokens, layerList))
    if (active.has(c.join())) f[(c[0] * L + c[1]) * F + c[2]] = h[c[0]]![c[1]]![c[2]]!;
  const y = new Float64Array(N * L * d);
  for (let n = 0; n < N; n++)
    for (let t = 0; t < L; t++)
      for (let c = 0; c < d; c++) {
        let v = at(p, `b_D.${t}`)(c);
        for (let s = 0; s <= t; s++)
          for (let i = 0; i < F; i++) v += f[(n * L + s) * F + i]! * at(p, `W_D.${t}`)(s, i, c);
        y[(n * L + t) * d + c] = v;
      }
  return { f, h: Float64Array.from(h.flat(2)), y, norm: Float64Array.from(norm.flat()) };
}

function configError(over: Record<string, unknown>, L = 3): string {
  try {
    config(over, L);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error(`config ${JSON.stringify(over)} was accepted`);
}

describe('clt config', () => {
  it('rejects hook lists of different lengths or empty, naming the field on one line', () => {
    const a = configError({ hook_points_out: hooksOut(2) });
    expect(a).toMatch(/^test config: field 'hook_points_out': must have one hook per layer.*\(3\), got 2/);
    expect(a).not.toContain('\n');
    expect(configError({ hook_points_in: [], hook_points_out: [] })).toMatch(
      /field 'hook_points_in': needs at least one/,
    );
  });

  it('rejects a hook listed twice, naming it', () => {
    const dupIn = configError({ hook_points_in: ['a', 'b', 'a'] });
    expect(dupIn).toMatch(/field 'hook_points_in\.2': 'a' appears twice/);
    expect(configError({ hook_points_out: ['o', 'o', 'p'] })).toMatch(/field 'hook_points_out\.1': 'o' appears twice/);
  });

  it('bounds top_k by what one selection holds: d_sae per layer, n_layers × d_sae for the layer-wide variants', () => {
    expect(configError({ act_fn: 'topk', top_k: 13 })).toMatch(/field 'top_k': must be at most d_sae = 12 \(got 13\)/);
    expect(configError({ act_fn: 'batchtopk', top_k: 13 })).toMatch(/field 'top_k': must be at most d_sae = 12/);
    expect(config({ act_fn: 'layertopk', top_k: 36 }).top_k).toBe(36);
    expect(config({ act_fn: 'batchlayertopk', top_k: 20 }).top_k).toBe(20);
    expect(configError({ act_fn: 'layertopk', top_k: 37 })).toMatch(
      /field 'top_k': must be at most n_layers × d_sae = 36/,
    );
    expect(configError({ act_fn: 'batchlayertopk', top_k: 37 })).toMatch(/n_layers × d_sae = 36 \(got 37\)/);
  });

  it('resolves d_sae from expansion_factor as lm-saes does (int(d·ef)) and rejects an unknown field', () => {
    expect(config({ d_sae: undefined, expansion_factor: 1.5 }).d_sae).toBe(12);
    expect(configError({ init_encoder_with_decoder_transpose: true })).toMatch(
      /unknown field 'init_encoder_with_decoder_transpose'/,
    );
  });
});

describe('clt reference', () => {
  const N = 5;
  for (const act of ALL_ACTS)
    for (const gated of [true, false])
      it(`${act}${gated ? '' : ' without decoder-norm gating'} equals the formulas of the specification`, () => {
        const cfg = config({ act_fn: act, sparsity_include_decoder_norm: gated, top_k: act.includes('layer') ? 7 : 3 });
        const p = randomParams(cfg, 11);
        const x = randomX(N, 3, 8, 5);
        const ref = cltReference(cfg, p, { x, B: 1, S: N });
        const want = direct(cfg, p, x, N);
        expectClose(ref.hiddenPre, want.h, { rtol: 1e-12, label: `${act} hiddenPre` });
        expectClose(ref.featureActs, want.f, { rtol: 1e-12, label: `${act} featureActs` });
        expectClose(ref.recon, want.y, { rtol: 1e-12, label: `${act} recon` });
        expectClose(cltKind.gateNorms(cfg, p), want.norm, { rtol: 1e-12, label: 'gate norms' });
        const active = want.f.filter((v) => v !== 0).length;
        expect(active, 'some but not all features active').toBeGreaterThan(0);
        expect(active).toBeLessThan(want.f.length);
      });

  it('the four TopK variants keep k per (token, layer), k per token, k·B per layer and k·B in all', () => {
    const L = 3;
    const F = 12;
    const count = (f: Float64Array, pick: (n: number, s: number) => boolean) => {
      let c = 0;
      for (let n = 0; n < N; n++)
        for (let s = 0; s < L; s++) for (let i = 0; i < F; i++) if (pick(n, s) && f[(n * L + s) * F + i]! > 0) c++;
      return c;
    };
    const run = (act: KindActFn, k: number) => {
      const cfg = config({ act_fn: act, top_k: k });
      // Positive pre-activations everywhere (b_E large) so that every selected entry is active.
      const p = randomParams(cfg, 3);
      p.b_E = { data: new Float32Array(L * F).fill(5), shape: [L, F] };
      const f = cltReference(cfg, p, { x: randomX(N, L, 8, 9), B: 1, S: N }).featureActs;
      expectClose(f, direct(cfg, p, randomX(N, L, 8, 9), N).f, { rtol: 1e-12, label: act });
      return f;
    };
    const topk = run('topk', 2);
    for (let n = 0; n < N; n++) for (let s = 0; s < L; s++) expect(count(topk, (a, b) => a === n && b === s)).toBe(2);
    const layer = run('layertopk', 4);
    for (let n = 0; n < N; n++) expect(count(layer, (a) => a === n)).toBe(4);
    const batch = run('batchtopk', 2);
    for (let s = 0; s < L; s++) expect(count(batch, (_a, b) => b === s)).toBe(2 * N);
    const batchLayer = run('batchlayertopk', 2);
    expect(count(batchLayer, () => true)).toBe(2 * N);
    // layertopk's selection spans layers: some token keeps a different count per layer.
    expect(
      [0, 1, 2, 3, 4].some(
        (n) => count(layer, (a, b) => a === n && b === 0) !== count(layer, (a, b) => a === n && b === 1),
      ),
    ).toBe(true);
  });

  it('takes the k of the options (K annealing) over top_k', () => {
    const cfg = config({ act_fn: 'topk', top_k: 3 });
    const p = randomParams(cfg, 4);
    const x = randomX(N, 3, 8, 2);
    expectClose(cltReference(cfg, p, { x, B: 1, S: N }, { k: 5 }).recon, direct(cfg, p, x, N, 5).y, {
      rtol: 1e-12,
      label: 'k = 5',
    });
  });

  for (const act of ['relu', 'jumprelu', 'topk'] as const)
    it(`with L = 1 (${act}) it is a per-layer transcoder with the decoder-norm gate`, () => {
      const cfg = config({ act_fn: act, top_k: 4 }, 1);
      const p = randomParams(cfg, 21);
      const x = randomX(N, 1, 8, 22);
      const { d_model: d, d_sae: F } = cfg;
      // lm-saes SAE, hook_point_in ≠ hook_point_out: pre = x W_E + b_E; f = act(pre·‖W_D,i‖)/‖W_D,i‖; ŷ = f W_D + b_D.
      const WE = at(p, 'W_E');
      const WD = at(p, 'W_D.0');
      const want = new Float64Array(N * d);
      for (let n = 0; n < N; n++) {
        const pre = Array.from({ length: F }, (_, i) => {
          let v = at(p, 'b_E')(0, i);
          for (let c = 0; c < d; c++) v += x[n * d + c]! * WE(0, c, i);
          return v;
        });
        const nrm = pre.map((_, i) => Math.hypot(...Array.from({ length: d }, (_, c) => WD(0, i, c))));
        const score = pre.map((v, i) => v * nrm[i]!);
        const kth = [...score].sort((a, b) => b - a)[3]!;
        const f = score.map((sc, i) => {
          const on =
            act === 'relu'
              ? sc > 0
              : act === 'jumprelu'
                ? sc > Math.exp(at(p, CLT_JUMPRELU_KEY)(0, i))
                : sc >= kth && sc > 0;
          return on ? sc / nrm[i]! : 0;
        });
        for (let c = 0; c < d; c++) {
          let v = at(p, 'b_D.0')(c);
          for (let i = 0; i < F; i++) v += f[i]! * WD(0, i, c);
          want[n * d + c] = v;
        }
      }
      expectClose(cltReference(cfg, p, { x, B: 1, S: N }).recon, want, { rtol: 1e-12, label: `L=1 ${act}` });
    });
});

describe('clt layout, init and config.json', () => {
  it('lists W_E, b_E, every W_D.{t} [t+1, F, d] and b_D.{t}, and the [L, F] JumpReLU threshold', () => {
    expect(cltKind.stateShapes(config({ act_fn: 'jumprelu' }))).toEqual({
      W_E: [3, 8, 12],
      b_E: [3, 12],
      'W_D.0': [1, 12, 8],
      'W_D.1': [2, 12, 8],
      'W_D.2': [3, 12, 8],
      'b_D.0': [8],
      'b_D.1': [8],
      'b_D.2': [8],
      'activation_function.log_jumprelu_threshold': [3, 12],
    });
    const relu = config();
    expect(Object.keys(cltKind.stateShapes(relu))).not.toContain(CLT_JUMPRELU_KEY);
    expect(cltKind.trainable(relu).sort()).toEqual(Object.keys(cltKind.stateShapes(relu)).sort());
    expect(cltKind.buffers(relu)).toEqual({});
    expect(cltKind.featureAxes(relu)).toBe(3);
    expect(cltKind.hooksIn(relu)).toEqual(hooksIn(3));
    expect(cltKind.hooksOut(relu)).toEqual(hooksOut(3));
  });

  it('initialises as lm-saes: W_E ~ U(±1/√F), W_D ~ U(±1/√(L·d)), zero biases, log θ, deterministic in the seed', () => {
    const cfg = config({ act_fn: 'jumprelu', jumprelu_threshold: 0.02 });
    const p = cltKind.init(cfg, 7);
    for (const [name, shape] of Object.entries(cltKind.stateShapes(cfg))) expect(p[name]!.shape, name).toEqual(shape);
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs(p.W_E!.data)).toBeLessThanOrEqual(1 / Math.sqrt(12));
    expect(maxAbs(p.W_E!.data)).toBeGreaterThan(0.8 / Math.sqrt(12));
    for (let t = 0; t < 3; t++) {
      expect(maxAbs(p[`W_D.${t}`]!.data)).toBeLessThanOrEqual(1 / Math.sqrt(24));
      expect(maxAbs(p[`W_D.${t}`]!.data)).toBeGreaterThan(0.5 / Math.sqrt(24));
      expect(maxAbs(p[`b_D.${t}`]!.data)).toBe(0);
    }
    expect(maxAbs(p.b_E!.data)).toBe(0);
    expect(p[CLT_JUMPRELU_KEY]!.data.every((v) => v === Math.fround(Math.log(0.02)))).toBe(true);
    expect(cltKind.init(cfg, 7).W_E!.data).toEqual(p.W_E!.data);
    expect(cltKind.init(cfg, 8).W_E!.data).not.toEqual(p.W_E!.data);
    const zeroCross = cltKind.init(config({ init_cross_layer_decoder_all_zero: true }), 7);
    const W2 = zeroCross['W_D.2']!.data;
    expect(maxAbs(W2.subarray(0, 2 * 12 * 8))).toBe(0); // W_D.2[0], W_D.2[1]
    expect(maxAbs(W2.subarray(2 * 12 * 8))).toBeGreaterThan(0); // W_D.2[2]
  });

  it('writes config.json as lm-saes does and reads it back to the same config', () => {
    const cfg = config({ act_fn: 'batchlayertopk', top_k: 5, d_sae: 20, norm_activation: 'dataset-wise' });
    const json = cltKind.configJson(cfg);
    expect(json).not.toHaveProperty('dtype');
    expect(json).not.toHaveProperty('device');
    expect(json).not.toHaveProperty('dataset_average_activation_norm');
    expect(Math.trunc(8 * (json.expansion_factor as number))).toBe(20);
    expect(json).toMatchObject({ sae_type: 'clt', hook_points_in: hooksIn(3), decode_with_csr: false });
    const back = parseConfig(
      cltKind.schema,
      cltKind.translateLmSaesConfig(JSON.parse(JSON.stringify(json)), 'c.json'),
      'c.json',
    );
    expect(back).toEqual(cfg);
  });

  it('reads an lm-saes config.json: drops kernel and loading keys, rejects a field it cannot honour or another sae_type', () => {
    const lm = {
      sae_type: 'clt',
      d_model: 8,
      expansion_factor: 1.5,
      hook_points_in: hooksIn(2),
      hook_points_out: hooksOut(2),
      act_fn: 'jumprelu',
      use_triton_kernel: false,
      sparsity_threshold_for_triton_spmm_kernel: 0.996,
      decode_with_csr: true,
      sparsity_threshold_for_csr: 0.05,
      sae_pretrained_name_or_path: '/x',
      strict_loading: true,
      jumprelu_threshold_grad_scale: 3,
    };
    const cfg = parseConfig(cltKind.schema, cltKind.translateLmSaesConfig(lm, 'c.json'), 'c.json');
    expect(cfg).toMatchObject({ d_sae: 12, jumprelu_threshold_window: 3, norm_activation: 'dataset-wise' });
    expect(() => cltKind.translateLmSaesConfig({ ...lm, use_skip_connection: true }, 'c.json')).toThrow(
      /^c\.json: field 'use_skip_connection': not a field .* may change the forward pass/,
    );
    expect(() => cltKind.translateLmSaesConfig({ ...lm, sae_type: 'sae' }, 'c.json')).toThrow(
      /^c\.json: field 'sae_type': expected 'clt'/,
    );
  });

  it('gives each feature’s decoder norm per target layer, 0 before its source, and n as their root sum of squares', () => {
    const cfg = config();
    const p = randomParams(cfg, 5);
    const per = cltDecoderNormsPerTarget(cfg, p); // [L·F, L]
    const n = cltKind.gateNorms(cfg, p);
    for (let s = 0; s < 3; s++)
      for (let i = 0; i < 12; i++) {
        const row = per.subarray((s * 12 + i) * 3, (s * 12 + i + 1) * 3);
        for (let t = 0; t < 3; t++) {
          const want = t < s ? 0 : Math.hypot(...Array.from({ length: 8 }, (_, c) => at(p, `W_D.${t}`)(s, i, c)));
          expect(row[t]).toBeCloseTo(want, 12);
        }
        expect(n[s * 12 + i]).toBeCloseTo(Math.hypot(...row), 12);
      }
  });
});

describe('clt metrics', () => {
  it('reports the legacy EV and the L0 per layer and their L0 sum, under lm-saes names', () => {
    const cfg = config();
    const p = randomParams(cfg, 2);
    const N = 6;
    const x = randomX(N, 3, 8, 3);
    const fwd = cltReference(cfg, p, { x, B: 2, S: 3 });
    const y = randomX(N, 3, 8, 4);
    const m = cltKind.metrics(cfg, p, fwd, y, N);
    let sum = 0;
    for (let t = 0; t < 3; t++) {
      let ev = 0;
      for (let n = 0; n < N; n++) {
        const row = (a: Float64Array) => a.subarray((n * 3 + t) * 8, (n * 3 + t + 1) * 8);
        const mean = Array.from({ length: 8 }, (_, c) => {
          let v = 0;
          for (let k = 0; k < N; k++) v += y[(k * 3 + t) * 8 + c]! / N;
          return v;
        });
        const err = row(fwd.recon).reduce((a, v, c) => a + (v - row(y)[c]!) ** 2, 0);
        const vari = row(y).reduce((a, v, c) => a + (v - mean[c]!) ** 2, 0);
        ev += (1 - err / vari) / N;
      }
      expect(m[`metrics/explained_variance_L${t}`]).toBeCloseTo(ev, 12);
      let l0 = 0;
      for (let n = 0; n < N; n++)
        for (let i = 0; i < 12; i++) if (fwd.featureActs[(n * 3 + t) * 12 + i]! > 0) l0 += 1 / N;
      expect(m[`metrics/l0_layer${t}`]).toBeCloseTo(l0, 12);
      sum += l0;
    }
    expect(m['metrics/l0']).toBeCloseTo(sum, 12);
    expect(sum).toBeGreaterThan(0);
  });
});
