// TransformerLens's weight processing (the 'transformer-lens' basis) against the unprocessed model, on every
// fixture architecture and pdlm-4l-256: each processed activation must follow from the unprocessed one through the
// transformation TransformerLens's processing implies (derived in src/core/lm/weight-processing.ts).
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { architectureFor } from '../../../src/core/lm/architectures/registry';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel, readModelConfig } from '../../../src/core/lm/load-model';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import { listParams, type BlockParams, type HostTensor, type ModelParams } from '../../../src/core/lm/params';
import { WeightSource } from '../../../src/core/lm/weight-source';
import { processWeightsTransformerLens } from '../../../src/core/lm/weight-processing';
import { openSafetensors } from '../../../src/core/tensor/safetensors';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { PARITY_CASES } from '../../helpers/hf-parity-cases';

const RTOL = 1e-4;

describeEachBackend('TransformerLens weight processing', () => {
  for (const c of PARITY_CASES) describeCase(c);
});

describe('processWeightsTransformerLens on host weights', () => {
  for (const c of PARITY_CASES) {
    it(`${c.name}: leaves its input untouched and yields weight-free norms and a vocab-centred unembedding`, () => {
      const { cfg, host } = loadHost(c.dir);
      const before = listParams(host).map(([n, t]) => [n, Float32Array.from(t.data)] as const);
      const out = processWeightsTransformerLens(cfg, host);
      for (const [n, data] of before) {
        const now = paramByName(host, n).data;
        expect(now.length === data.length && now.every((v, i) => v === data[i]), `${n} unchanged`).toBe(true);
      }
      for (const norm of [out.lnFinal, ...out.blocks.flatMap((b) => [b.ln1, b.ln2])]) {
        expect([...new Set(norm.w.data)]).toEqual([1]);
        expect(norm.b).toBeNull();
      }
      expect(maxAbs(rowMeans(out.W_U))).toBeLessThan(1e-6);
      for (const b of out.blocks) expect(b.attn.b_V).toBeNull();
      // RMSNorm models centre nothing that writes to the residual stream: the embedding is shared, not copied.
      if (cfg.normType === 'rmsnorm') expect(out.W_E).toBe(host.W_E);
      if (cfg.normType === 'layernorm') {
        // Writers to the residual stream are mean-free over d_model; readers of a norm are mean-free over their input.
        for (const w of [out.W_E, ...out.blocks.flatMap((b) => [b.attn.W_O, b.mlp.W_out])])
          expect(maxAbs(rowMeans(w))).toBeLessThan(1e-6);
        for (const w of out.blocks.flatMap((b) => [b.attn.W_Q, b.attn.W_K, b.attn.W_V, b.mlp.W_in]))
          expect(maxAbs(columnMeans(w))).toBeLessThan(1e-6);
      }
    });
  }
});

function describeCase(c: (typeof PARITY_CASES)[number]) {
  let raw: HookedTransformer;
  let tl: HookedTransformer;
  beforeAll(() => {
    raw = loadModel(c.dir).model;
    tl = loadModel(c.dir, { basis: 'transformer-lens' }).model;
  });
  afterAll(() => {
    raw.dispose();
    tl.dispose();
  });

  it(`${c.name}: logits, residual stream, norm outputs and attention follow TransformerLens's relations`, async () => {
    expect(raw.basis).toBe('unprocessed');
    expect(tl.basis).toBe('transformer-lens');
    const cfg = raw.cfg;
    const ref = openSafetensors(c.reference);
    const [B, S] = ref.info('input_ids').shape as [number, number];
    const input = { ids: ref.readInt32('input_ids'), batch: B, seq: S };
    const per = (l: number) =>
      [
        'hook_resid_pre',
        'hook_attn_out',
        'hook_mlp_out',
        'hook_resid_post',
        'ln1.hook_normalized',
        'ln2.hook_normalized',
        'attn.hook_q',
        'attn.hook_k',
        'attn.hook_v',
        'attn.hook_pattern',
        'mlp.hook_post',
        ...(cfg.parallelResidual ? [] : ['hook_resid_mid']),
      ].map((h) => `blocks.${l}.${h}`);
    const hooks = [...Array.from({ length: cfg.nLayers }, (_, l) => per(l)).flat(), 'ln_final.hook_normalized'];
    const startTensors = tf.memory().numTensors;
    const a = raw.forward(input, { cache: hooks });
    const b = tl.forward(input, { cache: hooks });
    const get = async (r: typeof a, h: string) => Float64Array.from((await r.cache[h]!.data()) as Float32Array);
    const isLn = cfg.normType === 'layernorm';
    const w = loadHost(c.dir).host; // the unprocessed weights, read on the host (webgpu has no synchronous read)
    const d = cfg.dModel;

    // (a) logits: center_unembed subtracts the per-position mean over the vocabulary before any soft-cap.
    const la = Float64Array.from((await a.logits!.data()) as Float32Array);
    const lb = (await b.logits!.data()) as Float32Array;
    const cap = cfg.finalSoftcap;
    const pre = cap === null ? la : la.map((v) => cap * Math.atanh(v / cap));
    const centred = centreLast(pre, cfg.dVocab);
    const expected = cap === null ? centred : centred.map((v) => cap * Math.tanh(v / cap));
    expectClose(lb, expected, { rtol: RTOL, label: `${c.name} logits` });
    if (cap === null) {
      expectClose(logSoftmax(lb, cfg.dVocab), logSoftmax(la, cfg.dVocab), { rtol: RTOL, label: `${c.name} log-probs` });
    }

    for (let l = 0; l < cfg.nLayers; l++) {
      // (b) residual stream and sublayer outputs: mean-centred per token for LayerNorm models, unchanged for RMS.
      for (const h of ['hook_resid_pre', 'hook_attn_out', 'hook_mlp_out', 'hook_resid_post', 'hook_resid_mid']) {
        const name = `blocks.${l}.${h}`;
        if (!hooks.includes(name)) continue;
        const x = await get(a, name);
        expectClose(await get(b, name), isLn ? centreLast(x, d) : x, { rtol: RTOL, label: `${c.name} ${name}` });
      }
      // Norm outputs lose the norm's affine map: (n − b) / w (LayerNorm) or n / w (RMSNorm, Gemma's w being 1 + w).
      for (const ln of ['ln1', 'ln2'] as const) {
        const name = `blocks.${l}.${ln}.hook_normalized`;
        const p = w.blocks[l]![ln];
        const expectedN = unAffine(await get(a, name), p.w.data, p.b?.data ?? null);
        expectClose(await get(b, name), expectedN, { rtol: RTOL, label: `${c.name} ${name}` });
      }
      // Queries, keys, the pattern and the MLP are unchanged: the folded maps compute the same values.
      for (const h of ['attn.hook_q', 'attn.hook_k', 'attn.hook_pattern', 'mlp.hook_post']) {
        const name = `blocks.${l}.${h}`;
        expectClose(await get(b, name), await get(a, name), { rtol: RTOL, label: `${c.name} ${name}` });
      }
      // (c) fold_value_biases: values lose their (norm-folded) bias β = b_V + b_ln·W_V, which moved into b_O;
      // hook_attn_out above shows the layer's output did not change.
      const name = `blocks.${l}.attn.hook_v`;
      const beta = valueBias(w.blocks[l]!, cfg.nKvHeads * cfg.dHead, d);
      const v = await get(a, name);
      expectClose(
        await get(b, name),
        v.map((x, i) => x - beta[i % beta.length]!),
        {
          rtol: RTOL,
          label: `${c.name} ${name}`,
        },
      );
      expect(tl.weights.blocks[l]!.attn.b_V).toBeNull();
      if (w.blocks[l]!.attn.b_V) expect(tl.weights.blocks[l]!.attn.b_O).not.toBeNull();
    }
    const fin = w.lnFinal;
    expectClose(
      await get(b, 'ln_final.hook_normalized'),
      unAffine(await get(a, 'ln_final.hook_normalized'), fin.w.data, fin.b?.data ?? null),
      { rtol: RTOL, label: `${c.name} ln_final.hook_normalized` },
    );
    tf.dispose([a.logits!, b.logits!, ...Object.values(a.cache), ...Object.values(b.cache)]);
    // Both models built their mask / rotary tables on this first pass; nothing else may stay behind.
    const tables = new Set(cfg.slidingWindows).size + (cfg.rotary ? 2 : 0);
    expect(tf.memory().numTensors - startTensors, 'tensors leaked').toBe(2 * tables);
  });
}

function centreLast(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let off = 0; off < x.length; off += n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[off + i]!;
    for (let i = 0; i < n; i++) out[off + i] = x[off + i]! - s / n;
  }
  return out;
}

function logSoftmax(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let off = 0; off < x.length; off += n) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[off + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[off + i]! - m);
    for (let i = 0; i < n; i++) out[off + i] = x[off + i]! - m - Math.log(s);
  }
  return out;
}

/** (x − b) / w along the last axis. */
function unAffine(x: Float64Array, w: ArrayLike<number>, b: ArrayLike<number> | null): Float64Array {
  return x.map((v, i) => (v - (b ? b[i % w.length]! : 0)) / w[i % w.length]!);
}

/** b_V + ln1.b · W_V (the value bias once the norm bias is folded in), [n_kv_heads * d_head]. */
function valueBias(blk: BlockParams<HostTensor>, kvDim: number, d: number): Float64Array {
  const out = new Float64Array(kvDim);
  const bV = blk.attn.b_V?.data;
  if (bV) out.set(bV);
  const lnB = blk.ln1.b?.data;
  if (lnB) {
    const W = blk.attn.W_V.data;
    for (let r = 0; r < d; r++) for (let c = 0; c < kvDim; c++) out[c]! += lnB[r]! * W[r * kvDim + c]!;
  }
  return out;
}

function loadHost(dir: string): { cfg: ModelConfig; host: ModelParams<HostTensor> } {
  const cfg = readModelConfig(dir);
  const src = WeightSource.open(dir);
  try {
    return { cfg, host: architectureFor(cfg.modelType, join(dir, 'config.json')).loadParams(src, cfg) };
  } finally {
    src.close();
  }
}

function paramByName(p: ModelParams<HostTensor>, name: string): HostTensor {
  const hit = listParams(p).find(([n]) => n === name);
  if (!hit) throw new Error(`no parameter ${name}`);
  return hit[1];
}

function rowMeans(t: HostTensor): Float64Array {
  const cols = t.shape[t.shape.length - 1]!;
  const out = new Float64Array(t.data.length / cols);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += t.data[r * cols + c]!;
    out[r] = s / cols;
  }
  return out;
}

function columnMeans(t: HostTensor): Float64Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c]! += t.data[r * cols + c]! / rows;
  return out;
}

function maxAbs(x: Float64Array): number {
  return x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}
