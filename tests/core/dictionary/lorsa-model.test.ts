// A Lorsa against a tiny random model's attention: the fit check, lm-saes's initialize_lorsa_with_mhsa (its QK
// scores then equal the model's), the active-subspace OV init, and the feature page's z-pattern.
import { describe, expect, it } from 'vitest';
import {
  checkLorsaFitsModel,
  initLorsaActiveSubspace,
  initLorsaFromModel,
  lorsaKind,
  lorsaZPattern,
} from '../../../src/core/dictionary/kinds/lorsa';
import { lorsaAttention64 } from '../../../src/core/dictionary/kinds/lorsa-math';
import { inverseFrequencies } from '../../../src/core/lm/components/rotary';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import type { AttentionParams, HostTensor } from '../../../src/core/lm/params';
import { expectClose } from '../../helpers/expect-close';
import { HOOK_IN, HOOK_OUT, lorsaCfg, randomParams, randomX, to64 } from './lorsa-fixtures';

const D = 8;
const DH = 4;

function tinyModel(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: 'qwen3',
    modelType: 'qwen3',
    nLayers: 1,
    dModel: D,
    nHeads: 2,
    nKvHeads: 1,
    dHead: DH,
    dMlp: 16,
    dVocab: 10,
    nCtx: 16,
    normType: 'rmsnorm',
    normEps: 1e-6,
    actFn: 'silu',
    gatedMlp: true,
    rotary: { dim: DH, theta: 10000, scaling: { type: 'default' } },
    qkNorm: true,
    parallelResidual: false,
    postNorms: false,
    attnScale: 1 / Math.sqrt(DH),
    attnSoftcap: null,
    finalSoftcap: null,
    slidingWindows: [null],
    embedScale: null,
    tiedEmbeddings: false,
    bosTokenId: null,
    eosTokenId: null,
    ...overrides,
  };
}

function tinyAttention(model: ModelConfig, seed: number): AttentionParams<HostTensor> {
  const rand = (shape: number[], s: number, scale = 0.6): HostTensor => ({
    data: Float32Array.from(
      randomX(
        shape.reduce((a, b) => a * b, 1),
        seed + s,
        scale,
      ),
    ),
    shape,
  });
  const kv = model.nKvHeads * DH;
  return {
    W_Q: rand([D, model.nHeads * DH], 1),
    W_K: rand([D, kv], 2),
    W_V: rand([D, kv], 3),
    W_O: rand([model.nHeads * DH, D], 4),
    b_Q: rand([model.nHeads * DH], 5, 0.2),
    b_K: rand([kv], 6, 0.2),
    b_V: null,
    b_O: null,
    qNorm: { w: rand([DH], 7, 0.3), b: null },
    kNorm: { w: rand([DH], 8, 0.3), b: null },
  };
}

const lorsaForModel = (overrides: Record<string, unknown> = {}) =>
  lorsaCfg({
    d_sae: 4,
    n_qk_heads: 4,
    d_qk_head: DH,
    rotary_dim: DH,
    rotary_adjacent_pairs: false,
    use_post_qk_ln: true,
    normalization_type: 'RMS',
    dataset_average_activation_norm: { [HOOK_IN]: 2.5, [HOOK_OUT]: 1.2 },
    ...overrides,
  });

/** The model's own attention scores (Hugging Face: q/k norm, rotate_half RoPE, q·k·attnScale) on raw x [S, d]. */
function modelScores(model: ModelConfig, attn: AttentionParams<HostTensor>, x: Float64Array, S: number, h: number) {
  const inv = inverseFrequencies(model.rotary!);
  const head = (W: HostTensor, b: HostTensor, w: HostTensor, col: number, t: number) => {
    const cols = W.shape[1]!;
    const v = Array.from({ length: DH }, (_, j) =>
      Array.from({ length: D }, (_, c) => x[t * D + c]! * W.data[c * cols + col * DH + j]!).reduce(
        (a, u) => a + u,
        b.data[col * DH + j]!,
      ),
    );
    const rms = Math.sqrt(v.reduce((a, u) => a + u * u, 0) / DH + model.normEps);
    const n = v.map((u, j) => (u / rms) * w.data[j]!);
    return n.map((u, j) => {
      const i = j % (DH / 2);
      const angle = t * inv[i]!;
      const other = j < DH / 2 ? -n[j + DH / 2]! : n[j - DH / 2]!;
      return u * Math.cos(angle) + other * Math.sin(angle);
    });
  };
  const kvHead = Math.floor(h / (model.nHeads / model.nKvHeads));
  const scores: number[] = [];
  for (let q = 0; q < S; q++) {
    const qv = head(attn.W_Q, attn.b_Q!, attn.qNorm!.w, h, q);
    for (let k = 0; k <= q; k++) {
      const kv = head(attn.W_K, attn.b_K!, attn.kNorm!.w, kvHead, k);
      scores.push(qv.reduce((a, u, j) => a + u * kv[j]!, 0) * model.attnScale);
    }
  }
  return scores;
}

describe('Lorsa and its model', () => {
  it('initLorsaFromModel: with group 1 the QK scores equal the model attention scores', () => {
    const model = tinyModel();
    const attn = tinyAttention(model, 100);
    const cfg = lorsaForModel();
    const params = initLorsaFromModel(cfg, model, attn, lorsaKind.init(cfg, 1));
    const S = 5;
    const raw = randomX(S * D, 7, 2);
    const cIn = Math.sqrt(D) / 2.5;
    const { q, k } = lorsaAttention64(
      cfg,
      to64(params),
      raw.map((v) => v * cIn),
      1,
      S,
    );
    for (let g = 0; g < cfg.n_qk_heads; g++) {
      const lorsa: number[] = [];
      for (let qp = 0; qp < S; qp++)
        for (let kp = 0; kp <= qp; kp++) {
          let s = 0;
          for (let j = 0; j < DH; j++) s += q[(qp * 4 + g) * DH + j]! * k[(kp * 4 + g) * DH + j]!;
          lorsa.push(s / cfg.attn_scale);
        }
      // QK head g copies model head ⌊g / (n_qk / n_heads)⌋ = ⌊g / 2⌋.
      expectClose(lorsa, modelScores(model, attn, raw, S, Math.floor(g / 2)), { rtol: 1e-5, label: `head ${g}` });
    }
  });

  it('initLorsaFromModel rejects shapes and norms that do not fit, naming the field', () => {
    const model = tinyModel();
    const attn = tinyAttention(model, 100);
    const init = (o: Record<string, unknown>) => {
      const cfg = lorsaForModel(o);
      return () => initLorsaFromModel(cfg, model, attn, lorsaKind.init(cfg, 1));
    };
    expect(init({ n_qk_heads: 1 })).toThrow(/^Lorsa config: field 'n_qk_heads'/);
    expect(init({ d_qk_head: 6 })).toThrow(/field 'd_qk_head'/);
    expect(init({ use_post_qk_ln: false })).toThrow(/field 'use_post_qk_ln'/);
    expect(init({ dataset_average_activation_norm: null })).toThrow(/field 'dataset_average_activation_norm'/);
  });

  it('checkLorsaFitsModel names the rotary, context or head field that does not fit', () => {
    const model = tinyModel();
    const fits =
      (o: Record<string, unknown>, m: ModelConfig = model) =>
      () =>
        checkLorsaFitsModel(lorsaForModel(o), m);
    expect(fits({})).not.toThrow();
    expect(fits({ rotary_adjacent_pairs: true })).toThrow(/field 'rotary_adjacent_pairs'/);
    expect(fits({ rotary_dim: 2 })).toThrow(/field 'rotary_dim'/);
    expect(fits({ d_qk_head: 2, rotary_dim: 2 })).toThrow(/field 'd_qk_head'/);
    expect(fits({ rotary_base: 500000 })).toThrow(/field 'rotary_base'/);
    expect(fits({ n_ctx: 17 })).toThrow(/field 'n_ctx'/);
    expect(fits({}, tinyModel({ rotary: null }))).toThrow(/field 'positional_embedding_type'/);
    const llama3 = tinyModel({
      rotary: {
        dim: DH,
        theta: 10000,
        scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
      },
    });
    expect(fits({}, llama3)).toThrow(/field 'use_NTK_by_parts_rope'/);
    const ntk = { use_NTK_by_parts_rope: true, NTK_by_parts_factor: 8, NTK_by_parts_high_freq_factor: 4 };
    expect(fits(ntk, llama3)).toThrow(/field 'old_context_len'/);
    expect(fits({ ...ntk, old_context_len: 64 }, llama3)).not.toThrow();
  });
});

describe('Lorsa OV initialisation and z-pattern', () => {
  it('initLorsaActiveSubspace puts W_V rows in the top singular subspace and W_O = W_V·W_V^h·W_O^h, unit norm', () => {
    const model = tinyModel({ nKvHeads: 2 });
    const attn = tinyAttention(model, 200);
    const cfg = lorsaForModel({ d_sae: 4, n_qk_heads: 2, d_qk_head: 2, rotary_dim: 2, use_post_qk_ln: false });
    const before = randomParams(cfg, 3);
    const N = 30;
    const x = randomX(N * D, 11, 1.5);
    const after = initLorsaActiveSubspace(cfg, model, attn, before, x, N);
    for (let h = 0; h < 2; h++) {
      const W = (c: number, j: number) => attn.W_V.data[c * 2 * DH + h * DH + j]!;
      // C = DᵀD for D = de-meaned x·W·Wᵀ; its top-2 eigenvectors by power iteration with deflation.
      const mean = Array.from(
        { length: D },
        (_, c) => Array.from({ length: N }, (_, t) => x[t * D + c]!).reduce((a, v) => a + v, 0) / N,
      );
      const rows = Array.from({ length: N }, (_, t) => {
        const xw = Array.from({ length: DH }, (_, j) => mean.reduce((a, m, c) => a + (x[t * D + c]! - m) * W(c, j), 0));
        return Array.from({ length: D }, (_, c) => xw.reduce((a, u, j) => a + u * W(c, j), 0));
      });
      let C = Array.from({ length: D }, (_, a) =>
        Array.from({ length: D }, (_, b) => rows.reduce((s, r) => s + r[a]! * r[b]!, 0)),
      );
      const E: number[][] = [];
      for (let m = 0; m < 2; m++) {
        let v = Array.from({ length: D }, (_, i) => 1 + i);
        for (let it = 0; it < 3000; it++) {
          const w = C.map((row) => row.reduce((s, c, j) => s + c * v[j]!, 0));
          const n = Math.hypot(...w);
          v = w.map((u) => u / n);
        }
        const lambda = C.map((row) => row.reduce((s, c, j) => s + c * v[j]!, 0)).reduce((s, u, i) => s + u * v[i]!, 0);
        C = C.map((row, a) => row.map((c, b) => c - lambda * v[a]! * v[b]!));
        E.push(v);
      }
      for (let i = 2 * h; i < 2 * h + 2; i++) {
        const r = Array.from(after.W_V!.data.subarray(i * D, (i + 1) * D));
        const coords = E.map((e) => e.reduce((s, u, c) => s + u * r[c]!, 0));
        const residual = r.map((u, c) => u - coords.reduce((s, a, m) => s + a * E[m]![c]!, 0));
        expect(Math.hypot(...residual), `W_V[${i}] outside the top subspace`).toBeLessThan(1e-5);
        expect(Math.hypot(...r)).toBeCloseTo(1, 5);
        // Its coordinates in that basis are the row's first d_qk old coordinates, up to the eigenvectors' signs.
        const old = Array.from(before.W_V!.data.subarray(i * D, i * D + 2));
        expectClose(
          coords.map(Math.abs),
          old.map((u) => Math.abs(u) / Math.hypot(...old)),
          { rtol: 1e-4, label: `coords ${i}` },
        );
        const ov = Array.from({ length: D }, (_, c) =>
          Array.from(
            { length: DH },
            (_, j) => r.reduce((s, u, e) => s + u * W(e, j), 0) * attn.W_O.data[(h * DH + j) * D + c]!,
          ).reduce((a, u) => a + u, 0),
        );
        const n = Math.hypot(...ov);
        expectClose(
          after.W_O!.data.subarray(i * D, (i + 1) * D),
          ov.map((u) => u / n),
          { rtol: 1e-5, label: `W_O[${i}]` },
        );
      }
    }
  });

  it('lorsaZPattern rows sum to the hidden_pre and vanish after the query', () => {
    const cfg = lorsaCfg();
    const params = randomParams(cfg, 5);
    const B = 2;
    const S = 5;
    const x = randomX(B * S * D, 13);
    const { hiddenPre } = lorsaKind.reference(cfg, params, { x, B, S });
    for (const [feature, query] of [
      [0, 4],
      [7, 2],
      [11, 0],
    ] as const) {
      const zp = lorsaZPattern(cfg, params, x, B, S, feature, query);
      for (let b = 0; b < B; b++) {
        const row = Array.from(zp.subarray(b * S, (b + 1) * S));
        expect(row.slice(query + 1).every((v) => v === 0)).toBe(true);
        expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(hiddenPre[(b * S + query) * 12 + feature]!, 10);
      }
    }
    expect(() => lorsaZPattern(cfg, params, x, B, S, 12, 0)).toThrow(/feature 12/);
  });
});
