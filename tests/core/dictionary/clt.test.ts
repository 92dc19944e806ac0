// The cross-layer transcoder kind: config errors, the float64 reference against formulas written here from the
// specification (§2 of dictionaries-and-circuits.md), the L = 1 transcoder, the four TopK variants, folding, metrics,
// config.json both ways, the circuit-tracer layout, and the tfjs forward and gradients on every backend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import {
  CLT_JUMPRELU_KEY,
  cltDecoderNormsPerTarget,
  cltKind,
  cltReference,
} from '../../../src/core/dictionary/kinds/clt';
import { exportCircuitTracerClt, importCircuitTracerClt } from '../../../src/core/dictionary/formats/circuit-tracer';
import { InputError } from '../../../src/core/errors';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { writeSafetensors } from '../../../src/core/tensor/safetensors';
import { CltConfigSchema, type CltConfig } from '../../../src/protocol/kind-configs/clt';
import type { KindActFn } from '../../../src/protocol/kind-configs/common';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';

const ALL_ACTS: KindActFn[] = ['relu', 'jumprelu', 'topk', 'batchtopk', 'layertopk', 'batchlayertopk'];
const hooksIn = (L: number) => Array.from({ length: L }, (_, l) => `blocks.${l}.ln2.hook_normalized`);
const hooksOut = (L: number) => Array.from({ length: L }, (_, l) => `blocks.${l}.hook_mlp_out`);

function config(over: Record<string, unknown> = {}, L = 3, d = 8, F = 12): CltConfig {
  return parseConfig(
    CltConfigSchema,
    {
      sae_type: 'clt',
      d_model: d,
      d_sae: F,
      hook_points_in: hooksIn(L),
      hook_points_out: hooksOut(L),
      norm_activation: 'inference',
      top_k: 3,
      ...over,
    },
    'test config',
  );
}

/** Random weights (not lm-saes's init: biases and thresholds nonzero so that every term is exercised). */
function randomParams(cfg: CltConfig, seed: number): HostParams {
  const draw = uniformGenerator(seed);
  const p: HostParams = {};
  const scale: Record<string, number> = { W_E: 0.5, b_E: 0.3 };
  for (const [name, shape] of Object.entries(cltKind.stateShapes(cfg))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data =
      name === CLT_JUMPRELU_KEY
        ? Float32Array.from({ length: size }, () => Math.log(0.15 + Math.abs(draw(0.25))))
        : Float32Array.from({ length: size }, () => draw(scale[name] ?? (name.startsWith('b_D') ? 0.2 : 0.4)));
    p[name] = { data, shape };
  }
  return p;
}

function randomX(N: number, L: number, d: number, seed: number, scales: number[] = []): Float64Array {
  const draw = uniformGenerator(seed);
  return Float64Array.from({ length: N * L * d }, (_, j) => draw(1) * (scales[Math.floor(j / d) % L] ?? 1));
}

/** Nested-array view of a parameter: get(name)(i, j, k). */
const at = (p: HostParams, name: string) => {
  const t = p[name]!;
  return (...idx: number[]) => t.data[idx.reduce((o, v, a) => o * t.shape[a]! + v, 0)]!;
};

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
  const score = (n: number, s: number, i: number) => h[n]![s]![i]! * (cfg.sparsity_include_decoder_norm ? norm[s]![i]! : 1);
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
  for (const c of cells(tokens, layerList)) if (active.has(c.join())) f[(c[0] * L + c[1]) * F + c[2]] = h[c[0]]![c[1]]![c[2]]!;
  const y = new Float64Array(N * L * d);
  for (let n = 0; n < N; n++)
    for (let t = 0; t < L; t++)
      for (let c = 0; c < d; c++) {
        let v = at(p, `b_D.${t}`)(c);
        for (let s = 0; s <= t; s++) for (let i = 0; i < F; i++) v += f[(n * L + s) * F + i]! * at(p, `W_D.${t}`)(s, i, c);
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
    expect(configError({ hook_points_in: [], hook_points_out: [] })).toMatch(/field 'hook_points_in': needs at least one/);
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
    expect(configError({ act_fn: 'layertopk', top_k: 37 })).toMatch(/field 'top_k': must be at most n_layers × d_sae = 36/);
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
      for (let n = 0; n < N; n++) for (let s = 0; s < L; s++) for (let i = 0; i < F; i++) if (pick(n, s) && f[(n * L + s) * F + i]! > 0) c++;
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
    expect([0, 1, 2, 3, 4].some((n) => count(layer, (a, b) => a === n && b === 0) !== count(layer, (a, b) => a === n && b === 1))).toBe(true);
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
          const on = act === 'relu' ? sc > 0 : act === 'jumprelu' ? sc > Math.exp(at(p, CLT_JUMPRELU_KEY)(0, i)) : sc >= kth && sc > 0;
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
