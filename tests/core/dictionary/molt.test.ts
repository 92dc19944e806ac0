// The MoLT kind on the host: its config errors, file layout, initialisation, the float64 reference against a
// straightforward computation from the spec formulas, the Gram-trick norm, the exact fold, metrics and config.json.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { moltKind } from '../../../src/core/dictionary/kinds/molt';
import { InputError } from '../../../src/core/errors';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { MoltConfigSchema, type MoltConfig, type MoltConfigInput } from '../../../src/protocol/kind-configs/molt';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import {
  D,
  explicitTransforms,
  frobenius,
  gateMargin,
  moltConfig,
  naiveMolt,
  randomParams,
  randomVector,
} from './molt-fixtures';

const ACT_FNS = ['relu', 'jumprelu', 'topk', 'batchtopk'] as const;
const N = 6; // tokens: B = 2, S = 3

function configError(overrides: Record<string, unknown>, drop?: string): string {
  const input: Record<string, unknown> = {
    sae_type: 'molt',
    d_model: D,
    expansion_factor: 1.5,
    hook_point_in: 'blocks.0.ln2.hook_normalized',
    hook_point_out: 'blocks.0.hook_mlp_out',
    rank_counts: { '1': 4, '2': 5, '3': 3 },
    ...overrides,
  };
  if (drop) delete input[drop];
  try {
    parseConfig(MoltConfigSchema, input, 'config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`config ${JSON.stringify(input)} parsed without error`);
}

describe('MoLT config', () => {
  it('resolves d_sae = Σ counts, sorts the ranks and defaults expansion_factor to F/d', () => {
    const cfg = moltConfig();
    expect(cfg.d_sae).toBe(12);
    expect(Object.keys(cfg.rank_counts)).toEqual(['1', '2', '3']);
    const noEf = parseConfig(MoltConfigSchema, { ...moltConfig(), expansion_factor: undefined }, 'x');
    expect(noEf.expansion_factor).toBe(1.5);
  });

  it.each([
    [{ rank_counts: {} }, undefined, "config.json: field 'rank_counts': cannot be empty"],
    [
      { rank_counts: { '1.5': 2 } },
      undefined,
      "config.json: field 'rank_counts': rank '1.5' must be a positive integer",
    ],
    [{ rank_counts: { '0': 2 } }, undefined, "field 'rank_counts': rank '0' must be a positive integer"],
    [{ rank_counts: { '-2': 2 } }, undefined, "field 'rank_counts': rank '-2' must be a positive integer"],
    [
      { rank_counts: { '2': 0, '1': 12 } },
      undefined,
      "field 'rank_counts.2': the count of rank 2 must be a positive integer (got 0)",
    ],
    [
      { rank_counts: { '2': 1.5 } },
      undefined,
      "field 'rank_counts.2': the count of rank 2 must be a positive integer (got 1.5)",
    ],
    [{ rank_counts: { '2': 'many' } }, undefined, "field 'rank_counts.2'"],
    [
      { expansion_factor: 1.6 },
      undefined,
      "field 'expansion_factor': must lie within 0.1 of Σ rank_counts / d_model = 12/8 = 1.5 (got 1.6)",
    ],
    [{ expansion_factor: 1 }, undefined, "field 'expansion_factor'"],
    [{}, 'hook_point_in', "field 'hook_point_in'"],
    [{}, 'hook_point_out', "field 'hook_point_out'"],
    [{ d_sae: 16 }, undefined, "field 'd_sae': must equal Σ rank_counts = 12"],
    [{ act_fn: 'layertopk' }, undefined, "field 'act_fn'"],
    [{ act_fn: 'topk', top_k: 13 }, undefined, "field 'top_k': must be at most d_sae = Σ rank_counts = 12"],
    [{ lr: 3 }, undefined, "unknown field 'lr'"],
  ])('rejects %j (without %s) in one line naming the field', (overrides, drop, expected) => {
    expect(configError(overrides, drop)).toContain(expected);
  });

  it('accepts expansion_factor within 0.1 of F/d (lm-saes keeps it only for consistency)', () => {
    expect(moltConfig({ expansion_factor: 1.59 }).d_sae).toBe(12);
  });
});

describe('MoLT layout and initialisation', () => {
  it("lists lm-saes's state_dict keys and shapes, all trainable, no buffers", () => {
    const cfg = moltConfig({ act_fn: 'jumprelu' });
    expect(moltKind.stateShapes(cfg)).toEqual({
      W_E: [D, 12],
      b_E: [12],
      'U_matrices.1': [4, D, 1],
      'V_matrices.1': [4, 1, D],
      'U_matrices.2': [5, D, 2],
      'V_matrices.2': [5, 2, D],
      'U_matrices.3': [3, D, 3],
      'V_matrices.3': [3, 3, D],
      b_D: [D],
      'activation_function.log_jumprelu_threshold': [12],
    });
    expect(moltKind.trainable(cfg).sort()).toEqual(Object.keys(moltKind.stateShapes(cfg)).sort());
    expect(moltKind.buffers(cfg)).toEqual({});
    expect(Object.keys(moltKind.stateShapes(moltConfig({ use_decoder_bias: false })))).not.toContain('b_D');
    expect(moltKind.hooksIn(cfg)).toEqual(['blocks.0.ln2.hook_normalized']);
    expect(moltKind.hooksOut(cfg)).toEqual(['blocks.0.hook_mlp_out']);
    expect(moltKind.featureAxes(cfg)).toBe(1);
  });

  it('initialises W_E, U and V in U(±1/√F), biases at 0, θ at jumprelu_threshold, deterministic in the seed', () => {
    const cfg = moltConfig({ act_fn: 'jumprelu', jumprelu_threshold: 0.01 });
    const a = moltKind.init(cfg, 7);
    const bound = 1 / Math.sqrt(12);
    for (const [name, shape] of Object.entries(moltKind.stateShapes(cfg))) {
      const t = a[name]!;
      expect(t.shape, name).toEqual(shape);
      const max = Math.max(...t.data.map(Math.abs));
      if (name === 'b_E' || name === 'b_D') expect(max, name).toBe(0);
      else if (name.startsWith('activation_function')) expect(t.data[0]).toBeCloseTo(Math.log(0.01), 6);
      else {
        expect(max, name).toBeLessThanOrEqual(bound);
        expect(max, name).toBeGreaterThan(bound / 2);
      }
    }
    expect(moltKind.init(cfg, 7)).toEqual(a);
    expect(moltKind.init(cfg, 8).W_E!.data).not.toEqual(a.W_E!.data);
  });
});

function referenceOn(cfg: MoltConfig, params: HostParams, x: Float64Array) {
  return moltKind.reference(cfg, params, { x, B: 2, S: 3 });
}

describe('MoLT reference', () => {
  const variants: Partial<MoltConfigInput>[] = [
    ...ACT_FNS.map((act_fn) => ({ act_fn, top_k: 3 })),
    { act_fn: 'relu', sparsity_include_decoder_norm: false },
    { act_fn: 'topk', top_k: 2, sparsity_include_decoder_norm: false },
    { act_fn: 'jumprelu', use_decoder_bias: false },
  ];
  it.each(variants)('equals the spec formulas with explicit U_iV_i: %j', (overrides) => {
    const cfg = moltConfig(overrides);
    const params = randomParams(moltKind.stateShapes(cfg), 11);
    const x = randomVector(N * D, 12, 1.5);
    const fwd = referenceOn(cfg, params, x);
    const naive = naiveMolt(cfg, params, x, N);
    expect(gateMargin(cfg, params, x, N)).toBeGreaterThan(1e-6);
    const active = naive.f.filter((v) => v > 0).length;
    expect(active).toBeGreaterThan(0);
    expect(active).toBeLessThan(N * 12);
    expectClose(fwd.featureActs, naive.f, { rtol: 1e-12, label: 'featureActs' });
    expectClose(fwd.hiddenPre, naive.h, { rtol: 1e-12, label: 'hiddenPre' });
    expectClose(fwd.recon, naive.yHat, { rtol: 1e-12, label: 'recon' });
  });

  it.each(['topk', 'batchtopk'] as const)('%s takes the annealed k of the options over top_k', (act_fn) => {
    const cfg = moltConfig({ act_fn, top_k: 5 });
    const params = randomParams(moltKind.stateShapes(cfg), 11);
    const x = randomVector(N * D, 12, 1.5);
    const annealed = moltKind.reference(cfg, params, { x, B: 2, S: 3 }, { k: 2 });
    const naive = naiveMolt({ ...cfg, top_k: 2 }, params, x, N);
    expect(annealed.featureActs.filter((v) => v > 0).length).toBeLessThanOrEqual(2 * N);
    expectClose(annealed.recon, naive.yHat, { rtol: 1e-12, label: 'recon with k = 2' });
  });

  it('computes ‖U_iV_i‖_F with the Gram trick, equal to the explicit d×d Frobenius norm', () => {
    const cfg = moltConfig({ rank_counts: { '1': 2, '3': 3, '8': 3 }, expansion_factor: 1 });
    const params = randomParams(moltKind.stateShapes(cfg), 5, 1);
    const explicit = explicitTransforms(cfg, params).map(frobenius);
    expectClose(moltKind.gateNorms(cfg, params), explicit, { rtol: 1e-13, label: 'gate norms' });
    expect(explicit[7]).toBeGreaterThan(0);
  });

  it("decodes ŷ = Σ f_i U_i(V_i x) + b_D with lm-saes's orientation (einsum 'c r d', then 'c d r')", () => {
    // d = 3, one rank-1 transform U = e0 [3,1], V = e1ᵀ [1,3]: U V x = x_1 e0 (the transposed reading gives x_0 e1).
    const cfg = parseConfig(
      MoltConfigSchema,
      {
        sae_type: 'molt',
        d_model: 3,
        expansion_factor: 0.33,
        hook_point_in: 'a',
        hook_point_out: 'b',
        rank_counts: { '1': 1 },
      },
      'x',
    );
    const params: HostParams = {
      W_E: { data: new Float32Array(3), shape: [3, 1] },
      b_E: { data: Float32Array.of(2), shape: [1] }, // h = 2, n = 1: f = 2
      'U_matrices.1': { data: Float32Array.of(1, 0, 0), shape: [1, 3, 1] },
      'V_matrices.1': { data: Float32Array.of(0, 1, 0), shape: [1, 1, 3] },
      b_D: { data: Float32Array.of(0, 0, 0.5), shape: [3] },
    };
    const fwd = moltKind.reference(cfg, params, { x: Float64Array.of(5, 7, 11), B: 1, S: 1 });
    expect(Array.from(fwd.featureActs)).toEqual([2]);
    expect(Array.from(fwd.recon)).toEqual([14, 0, 0.5]);
  });
});

/** Raw-space reconstruction of a dataset-wise MoLT: x·c_in in, ŷ / c_out out. */
function rawRecon(cfg: MoltConfig, params: HostParams, raw: Float64Array, cIn: number, cOut: number) {
  const fwd = referenceOn(
    cfg,
    params,
    raw.map((v) => v * cIn),
  );
  return { f: fwd.featureActs, y: fwd.recon.map((v) => v / cOut) };
}

describe('MoLT fold', () => {
  const norms = { in: 3.7, out: 0.6 };
  const withNorms = (overrides: Partial<MoltConfigInput>, normIn = norms.in) =>
    moltConfig({
      ...overrides,
      dataset_average_activation_norm: {
        'blocks.0.ln2.hook_normalized': normIn,
        'blocks.0.hook_mlp_out': norms.out,
      },
    });

  it.each([
    ...ACT_FNS.map((act_fn) => ({ act_fn, top_k: 3 })),
    { act_fn: 'jumprelu' as const, sparsity_include_decoder_norm: false },
  ])('folds exactly, with unequal norms per hook: %j', (overrides) => {
    const cfg = withNorms(overrides);
    const params = randomParams(moltKind.stateShapes(cfg), 21);
    const raw = randomVector(N * D, 22, 4);
    const cIn = Math.sqrt(D) / norms.in;
    const cOut = Math.sqrt(D) / norms.out;
    const before = rawRecon(cfg, params, raw, cIn, cOut);
    expect(
      gateMargin(
        cfg,
        params,
        raw.map((v) => v * cIn),
        N,
      ),
    ).toBeGreaterThan(1e-4);
    const folded = moltKind.fold(cfg, params);
    expect(folded.cfg.norm_activation).toBe('inference');
    expect(folded.warnings).toEqual([]);
    const after = referenceOn(folded.cfg, folded.params, raw);
    expectClose(after.recon, before.y, { rtol: 1e-5, label: 'raw reconstruction' });
    expectClose(
      after.featureActs,
      before.f.map((v) => v / cIn),
      { rtol: 1e-5, label: 'f / c_in' },
    );
  });

  function lmSaesFold(params: HostParams, cIn: number, cOut: number): HostParams {
    // lm-saes standardize_parameters_of_dataset_norm: b_E /= c_in, b_D /= c_out, U, V *= √(c_in / c_out).
    const out: HostParams = {};
    for (const [name, t] of Object.entries(params)) {
      const s =
        name === 'b_E' ? 1 / cIn : name === 'b_D' ? 1 / cOut : name.includes('_matrices.') ? Math.sqrt(cIn / cOut) : 1;
      out[name] = { data: t.data.map((v) => v * s), shape: t.shape };
    }
    return out;
  }

  it("shows lm-saes's own fold is off by c_in (exact only when c_in = 1)", () => {
    const cOut = Math.sqrt(D) / norms.out;
    const raw = randomVector(N * D, 32, 4);
    const errors = [norms.in, Math.sqrt(D)].map((normIn) => {
      const cfg = withNorms({ act_fn: 'relu' }, normIn);
      const params = randomParams(moltKind.stateShapes(cfg), 31);
      const cIn = Math.sqrt(D) / normIn;
      const before = rawRecon(cfg, params, raw, cIn, cOut);
      const after = referenceOn({ ...cfg, norm_activation: 'inference' }, lmSaesFold(params, cIn, cOut), raw);
      let num = 0;
      let den = 0;
      for (let i = 0; i < raw.length; i++) {
        num += (after.recon[i]! - before.y[i]!) ** 2;
        den += before.y[i]! ** 2;
      }
      return Math.sqrt(num / den);
    });
    expect(errors[0]).toBeGreaterThan(0.1); // c_in = √8 / 3.7 ≈ 0.76
    expect(errors[1]).toBeLessThan(1e-6); // c_in = 1
  });

  it('refuses to fold without a norm for each hook or with a per-token norm, naming the field', () => {
    const params = randomParams(moltKind.stateShapes(moltConfig()), 1);
    expect(() => moltKind.fold(moltConfig(), params)).toThrow(
      /field 'dataset_average_activation_norm': no norm for 'blocks.0.ln2.hook_normalized'/,
    );
    expect(() => moltKind.fold(moltConfig({ norm_activation: 'token-wise' }), params)).toThrow(
      /field 'norm_activation'/,
    );
    const inference = moltConfig({ norm_activation: 'inference' });
    expect(moltKind.fold(inference, params).params).toBe(params);
  });
});

describe('MoLT metrics and config.json', () => {
  it('reports l0 per rank, its ratio to the count and Σ_r r·l0_r', () => {
    const cfg = moltConfig();
    const featureActs = new Float64Array(2 * 12);
    [0, 1, 4, 11].forEach((i) => (featureActs[i] = 1)); // token 0: two rank-1, one rank-2, one rank-3
    [2, 9, 10].forEach((i) => (featureActs[12 + i] = 0.5)); // token 1: one rank-1, two rank-3
    const fwd = { featureActs, hiddenPre: featureActs, recon: new Float64Array(2 * D) };
    const m = moltKind.metrics(cfg, {}, fwd, new Float64Array(2 * D), 2);
    expect(m).toEqual({
      'molt_metrics/l0_rank1': 1.5,
      'molt_metrics/l0_rank1_ratio': 1.5 / 4,
      'molt_metrics/l0_rank2': 0.5,
      'molt_metrics/l0_rank2_ratio': 0.5 / 5,
      'molt_metrics/l0_rank3': 1.5,
      'molt_metrics/l0_rank3_ratio': 1.5 / 3,
      'molt_metrics/total_rank_sum': 1.5 + 2 * 0.5 + 3 * 1.5,
    });
  });

  it("writes lm-saes's MOLTConfig fields (string rank keys, no device or dtype) and reads them back", () => {
    const cfg = moltConfig({ act_fn: 'topk', top_k: 4, model_name: 'gpt2' });
    const json = JSON.parse(JSON.stringify(moltKind.configJson(cfg))) as Record<string, unknown>;
    expect(json).toMatchObject({
      sae_type: 'molt',
      d_model: D,
      expansion_factor: 1.5,
      rank_counts: { '1': 4, '2': 5, '3': 3 },
      hook_point_in: 'blocks.0.ln2.hook_normalized',
      hook_point_out: 'blocks.0.hook_mlp_out',
      act_fn: 'topk',
      top_k: 4,
    });
    expect(json).not.toHaveProperty('dtype');
    expect(json).not.toHaveProperty('device');
    const back = parseConfig(MoltConfigSchema, moltKind.translateLmSaesConfig(json, 'config.json'), 'config.json');
    expect(back).toEqual(cfg);
  });

  it('drops lm-saes-only keys, renames the old threshold window and rejects unknown fields by name', () => {
    const lmSaes = {
      ...moltKind.configJson(moltConfig()),
      device: 'cuda',
      dtype: 'torch.bfloat16',
      sae_pretrained_name_or_path: '/ckpt',
      strict_loading: true,
      jumprelu_threshold_window: undefined,
      jumprelu_threshold_grad_scale: 0.5,
    };
    const input = moltKind.translateLmSaesConfig(lmSaes, 'dir/config.json');
    expect(parseConfig(MoltConfigSchema, input, 'x').jumprelu_threshold_window).toBe(0.5);
    expect(() => moltKind.translateLmSaesConfig({ ...lmSaes, use_glu_encoder: true }, 'dir/config.json')).toThrow(
      /^dir\/config.json: field 'use_glu_encoder': unknown to SAE Studio's MoLT and it might change the forward pass \(got true\)$/,
    );
    expect(() => moltKind.translateLmSaesConfig({ ...lmSaes, sae_type: 'clt' }, 'dir/config.json')).toThrow(
      /field 'sae_type': expected 'molt'/,
    );
  });
});

const L1 = 0.3;
const JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

/** lm-saes's generic loss: mean_tok Σ_d (ŷ−y)² + l1 · mean_tok Σ_F |f·n|, here in float64 on the reference. */
function hostLoss(cfg: MoltConfig, params: HostParams, x: Float64Array, y: Float64Array): number {
  const fwd = referenceOn(cfg, params, x);
  const n = moltKind.gateNorms(cfg, params);
  let rec = 0;
  for (let i = 0; i < y.length; i++) rec += (fwd.recon[i]! - y[i]!) ** 2;
  let sparsity = 0;
  fwd.featureActs.forEach((f, e) => (sparsity += Math.abs(f * n[e % 12]!)));
  return rec / N + (L1 * sparsity) / N;
}

/** The same loss on the tensor forward; |v| as v·sign(v), whose gradient at 0 is 0 as in torch (tf.abs gives −1). */
function tfLoss(cfg: MoltConfig, params: Record<string, tf.Tensor>, x: tf.Tensor3D, y: tf.Tensor3D): tf.Scalar {
  const fwd = moltKind.tf.forward(cfg, params, x, { seqLen: 1, training: true });
  const fn = tf.mul(fwd.featureActs, moltKind.tf.gateNorms(cfg, params)); // [N, 1, F]
  const rec = tf.mean(tf.sum(tf.square(tf.sub(fwd.recon, y)), 2));
  return tf.add(rec, tf.mul(L1, tf.mean(tf.sum(tf.mul(fn, tf.sign(fn)), 2)))) as tf.Scalar;
}

/** Central differences of hostLoss over every element of `name`, with the float32-representable steps taken. */
function centralDifferences(cfg: MoltConfig, params: HostParams, name: string, x: Float64Array, y: Float64Array) {
  const data = params[name]!.data;
  return Float64Array.from(data, (orig, i) => {
    const plus = Math.fround(orig + 1e-5);
    const minus = Math.fround(orig - 1e-5);
    data[i] = plus;
    const lp = hostLoss(cfg, params, x, y);
    data[i] = minus;
    const lm = hostLoss(cfg, params, x, y);
    data[i] = orig;
    return (lp - lm) / (plus - minus);
  });
}

/** lm-saes's STE gradient of the loss w.r.t. log θ, from the spec formulas (the loss itself is flat in θ). */
function steLogThresholdGrad(cfg: MoltConfig, params: HostParams, x: Float64Array, y: Float64Array): Float64Array {
  const F = 12;
  const { f, h, n, Mx, yHat } = naiveMolt(cfg, params, x, N);
  const logTheta = params[JUMPRELU_KEY]!.data;
  const w = cfg.jumprelu_threshold_window;
  const out = new Float64Array(F);
  for (let t = 0; t < N; t++)
    for (let i = 0; i < F; i++) {
      let dF = (L1 / N) * Math.sign(f[t * F + i]!) * n[i]!;
      for (let a = 0; a < D; a++) dF += (2 / N) * (yHat[t * D + a]! - y[t * D + a]!) * Mx[(t * F + i) * D + a]!;
      const theta = Math.exp(logTheta[i]!);
      const s = h[t * F + i]! * n[i]!;
      if (Math.abs(s - theta) < w / 2 && s > 0) out[i]! += theta * (dF / n[i]!) * (-theta / w);
    }
  return out;
}

describeEachBackend('MoLT tensor forward', () => {
  const variants: Partial<MoltConfigInput>[] = [
    ...ACT_FNS.map((act_fn) => ({ act_fn, top_k: 3 })),
    { act_fn: 'relu', sparsity_include_decoder_norm: false },
  ];
  const setup = (overrides: Partial<MoltConfigInput>) => {
    const cfg = moltConfig(overrides);
    const params = randomParams(moltKind.stateShapes(cfg), 41);
    const x = Float64Array.from(Float32Array.from(randomVector(N * D, 42, 1.5)));
    const y = Float64Array.from(Float32Array.from(randomVector(N * D, 43, 2)));
    return { cfg, params, x, y };
  };
  const tensorsOf = (params: HostParams) =>
    Object.fromEntries(Object.entries(params).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));

  it.each(variants)('equals the float64 reference: %j', async (overrides) => {
    const { cfg, params, x } = setup(overrides);
    const start = tf.memory().numTensors;
    const tensors = tensorsOf(params);
    const xt = tf.tensor3d(Float32Array.from(x), [N, 1, D]);
    const fwd = moltKind.tf.forward(cfg, tensors, xt, { seqLen: 1, training: false });
    const norms = moltKind.tf.gateNorms(cfg, tensors);
    const ref = referenceOn(cfg, params, x);
    expect(fwd.recon.shape).toEqual([N, 1, D]);
    expectClose(await fwd.featureActs.data(), ref.featureActs, { rtol: 1e-4, label: 'featureActs' });
    expectClose(await fwd.hiddenPre.data(), ref.hiddenPre, { rtol: 1e-4, label: 'hiddenPre' });
    expectClose(await fwd.recon.data(), ref.recon, { rtol: 1e-4, label: 'recon' });
    expectClose(await norms.data(), moltKind.gateNorms(cfg, params), { rtol: 1e-5, label: 'gate norms' });
    tf.dispose([fwd.featureActs, fwd.hiddenPre, fwd.recon, norms, xt, ...Object.values(tensors)]);
    expect(tf.memory().numTensors).toBe(start);
  });

  it.each(['topk', 'batchtopk'] as const)('%s takes the annealed k of the options', async (act_fn) => {
    const { cfg, params, x } = setup({ act_fn, top_k: 5 });
    const tensors = tensorsOf(params);
    const xt = tf.tensor3d(Float32Array.from(x), [N, 1, D]);
    const fwd = moltKind.tf.forward(cfg, tensors, xt, { k: 2, seqLen: 1, training: false });
    const ref = moltKind.reference(cfg, params, { x, B: 2, S: 3 }, { k: 2 });
    expectClose(await fwd.recon.data(), ref.recon, { rtol: 1e-4, label: 'recon with k = 2' });
    tf.dispose([fwd.featureActs, fwd.hiddenPre, fwd.recon, xt, ...Object.values(tensors)]);
  });

  it.each(variants)('has the gradients of central differences of the float64 loss: %j', async (overrides) => {
    const { cfg, params, x, y } = setup(overrides);
    expect(gateMargin(cfg, params, x, N)).toBeGreaterThan(1e-3);
    const names = moltKind.trainable(cfg);
    const tensors = tensorsOf(params);
    const xt = tf.tensor3d(Float32Array.from(x), [N, 1, D]);
    const yt = tf.tensor3d(Float32Array.from(y), [N, 1, D]);
    const grads = tf.grads((...ts: tf.Tensor[]) =>
      tfLoss(cfg, Object.fromEntries(names.map((name, i) => [name, ts[i]!])), xt, yt),
    )(names.map((name) => tensors[name]!));
    for (const [i, name] of names.entries()) {
      const expected =
        name === JUMPRELU_KEY ? steLogThresholdGrad(cfg, params, x, y) : centralDifferences(cfg, params, name, x, y);
      expect(Math.max(...expected.map(Math.abs)), `${name}: some gradient`).toBeGreaterThan(1e-4);
      expectClose(await grads[i]!.data(), expected, { rtol: 1e-3, label: `d loss / d ${name}` });
    }
    tf.dispose([...grads, xt, yt, ...Object.values(tensors)]);
  });
});
