// The real forward pass on the prompt, recording what the frozen replacement model needs (spec §6.1): every norm's
// scale (ln1, ln2, ln_final; Gemma 2's post-norms from their inputs; Qwen3's q/k norms for QK tracing), the real
// attention patterns, each site's input and output, the dictionaries' feature activations on their inputs (their
// own normalisation: c_in per position, frozen), and error = real output − reconstruction per site and position.
import * as tf from '@tensorflow/tfjs-core';
import { hookScales, kindOutputs, kindTensors } from '../dictionary/apply';
import { projectQk } from '../dictionary/kinds/lorsa-math';
import type { HostParams } from '../sae/host-tensor';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { NormParams } from '../lm/params';
import type { LorsaConfig } from '../../protocol/kind-configs/lorsa';
import { HOOK_EMBED, HOOK_LN_FINAL_SCALE, HOOK_POS_EMBED, hookName } from '../../protocol/hook-names';
import type { FrozenNorm, HostAttention, Vec } from './frozen-ops';
import type { ReplacementModel, ReplacementSite } from './replacement';
import { siteWeights, type SiteWeights } from './site-weights';

export interface FrozenLayer {
  ln1: FrozenNorm;
  ln2: FrozenNorm;
  ln1Post: FrozenNorm | null;
  ln2Post: FrozenNorm | null;
  attention: HostAttention;
  /** Real attention patterns [H, S, S] where the attention is not replaced; null under a Lorsa. */
  pattern: Float64Array | null;
  /** Qwen3: the q/k RMSNorm scales [S, H] and [S, K] (the QK path, for QK tracing); null otherwise. */
  qNormScale: Float64Array | null;
  kNormScale: Float64Array | null;
}

export interface FrozenSite {
  weights: SiteWeights;
  /** Per slot: c_in [S] (the factor the raw input is multiplied by) and c_out [S] (the raw output is recon / c_out). */
  cIn: Float64Array[];
  cOut: Float64Array[];
  /**
   * [S, A, F] activations (A = slots): the float64 reference in float64 runs, the kind's tensor forward in float32
   * ones; and the reference's pre-activations (float64 runs only, for checks).
   */
  acts: Vec;
  pre: Vec | null;
  /** Per slot: raw input and output [S, d] of the real pass, and error = output − reconstruction [S, d]. */
  input: Float64Array[];
  output: Float64Array[];
  error: Float64Array[];
  /** Lorsa: its frozen pattern [n_qk, S, S]. */
  lorsaPattern: Float64Array | null;
  /** Lorsa: its q and k [S, n_qk, d_rot] after its QK norm and rotary (q·k / attn_scale is the score; QK tracing). */
  lorsaQK: { q: Float64Array; k: Float64Array } | null;
}

export interface FrozenState {
  rm: ReplacementModel;
  ids: number[];
  S: number;
  d: number;
  /** hook_embed [S, d] (the embedding nodes' vectors) and hook_pos_embed [S, d] or null (a constant). */
  embed: Float64Array;
  posEmbed: Float64Array | null;
  layers: FrozenLayer[];
  lnFinal: FrozenNorm;
  W_U: Float32Array; // [d, V]
  b_U: Float32Array | null;
  /** The real logits at the last position [V] (after any final softcap): the logit probabilities. */
  lastLogits: Float64Array;
  sites: FrozenSite[];
}

const host = (t: tf.Tensor) => t.dataSync() as Float32Array;
const f64 = (t: tf.Tensor) => Float64Array.from(t.dataSync());

function frozenNorm(p: NormParams<tf.Tensor>, scale: Float64Array, centre: boolean): FrozenNorm {
  return { scale, w: host(p.w), b: p.b ? host(p.b) : null, centre };
}

/** σ per row from a norm's input [rows, d] (the post-norms have no hook_scale). */
function scaleOf(x: Float64Array, rows: number, d: number, centre: boolean, eps: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    if (centre) for (let c = 0; c < d; c++) mean += x[r * d + c]! / d;
    let s = 0;
    for (let c = 0; c < d; c++) s += (x[r * d + c]! - mean) ** 2;
    out[r] = Math.sqrt(s / d + eps);
  }
  return out;
}

function cacheList(model: HookedTransformer, rm: ReplacementModel): string[] {
  const cfg = model.cfg;
  const names = [HOOK_EMBED, HOOK_LN_FINAL_SCALE];
  if (model.weights.W_pos) names.push(HOOK_POS_EMBED);
  for (let l = 0; l < cfg.nLayers; l++) {
    names.push(hookName(l, 'ln1.hook_scale'), hookName(l, 'ln2.hook_scale'));
    if (!rm.attn[l]) names.push(hookName(l, 'attn.hook_pattern'));
    if (cfg.postNorms) names.push(hookName(l, 'ln1_post.hook_in'), hookName(l, 'ln2_post.hook_in'));
    if (cfg.qkNorm) names.push(hookName(l, 'attn.hook_q'), hookName(l, 'attn.hook_k'));
  }
  for (const site of rm.sites) for (const s of site.slots) names.push(s.inHook, s.outHook);
  return [...new Set(names)];
}

/** A Lorsa's frozen pattern [n_qk, S, S] and its q, k from its QK weights alone (x normalised, [S, d]). */
function lorsaPattern(cfg: LorsaConfig, params: HostParams, x: Float64Array, S: number) {
  const keys = ['W_Q', 'W_K', 'b_Q', 'b_K', 'ln_q.w', 'ln_k.w', 'rotary_sin', 'rotary_cos'];
  const p = Object.fromEntries(keys.filter((k) => params[k]).map((k) => [k, Float64Array.from(params[k]!.data)]));
  const q = projectQk(cfg, p, x, 1, S, 'Q');
  const k = projectQk(cfg, p, x, 1, S, 'K');
  const H = cfg.n_qk_heads;
  const dr = q.length / (S * H);
  const pattern = new Float64Array(H * S * S);
  for (let g = 0; g < H; g++)
    for (let qp = 0; qp < S; qp++) {
      const row = (g * S + qp) * S;
      let max = -Infinity;
      for (let kp = 0; kp <= qp; kp++) {
        let dot = 0;
        for (let j = 0; j < dr; j++) dot += q[(qp * H + g) * dr + j]! * k[(kp * H + g) * dr + j]!;
        pattern[row + kp] = dot / cfg.attn_scale!;
        max = Math.max(max, pattern[row + kp]!);
      }
      let sum = 0;
      for (let kp = 0; kp <= qp; kp++) sum += pattern[row + kp] = Math.exp(pattern[row + kp]! - max);
      for (let kp = 0; kp <= qp; kp++) pattern[row + kp]! /= sum;
    }
  return { pattern, q, k };
}

/** The dictionary on its raw inputs: float64 reference (with pre-activations) or the kind's tensor forward. */
async function applySite(
  site: ReplacementSite,
  acts: Record<string, Float64Array>,
  x: Float64Array,
  S: number,
  dtype: 'float32' | 'float64',
): Promise<{ acts: Vec; pre: Vec | null; recon: Float64Array }> {
  const { kind, cfg, params } = site;
  const A = site.slots.length;
  const d = cfg.d_model;
  if (dtype === 'float64') {
    const fwd = kind.reference(cfg, params, { x, B: 1, S });
    const recon = new Float64Array(S * A * d); // raw space
    site.slots.forEach((slot, a) => {
      const cOut = hookScales(cfg, slot.outHook, Float32Array.from(acts[slot.outHook]!), S, d);
      for (let p = 0; p < S; p++)
        for (let c = 0; c < d; c++) recon[(p * A + a) * d + c] = fwd.recon[(p * A + a) * d + c]! / cOut[p]!;
    });
    return { acts: fwd.featureActs, pre: fwd.hiddenPre, recon };
  }
  const raw: Record<string, Float32Array> = {};
  for (const slot of site.slots) for (const h of [slot.inHook, slot.outHook]) raw[h] = Float32Array.from(acts[h]!);
  const tensors = kindTensors(kind, cfg, params);
  try {
    const out = await kindOutputs(kind, cfg, tensors, raw, S, S);
    return { acts: out.featureActs, pre: null, recon: Float64Array.from(out.recon) };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

async function frozenSite(
  rm: ReplacementModel,
  index: number,
  acts: Record<string, Float64Array>,
  S: number,
  dtype: 'float32' | 'float64',
): Promise<FrozenSite> {
  const site = rm.sites[index]!;
  const { cfg } = site;
  const d = cfg.d_model;
  const A = site.slots.length;
  const scales = (hook: string) => hookScales(cfg, hook, Float32Array.from(acts[hook]!), S, d);
  const input = site.slots.map((s) => acts[s.inHook]!);
  const output = site.slots.map((s) => acts[s.outHook]!);
  const cIn = site.slots.map((s) => scales(s.inHook));
  const cOut = site.slots.map((s) => scales(s.outHook));
  const x = new Float64Array(S * A * d); // [1, S, A, d], normalised
  for (let a = 0; a < A; a++)
    for (let p = 0; p < S; p++)
      for (let c = 0; c < d; c++) x[(p * A + a) * d + c] = input[a]![p * d + c]! * cIn[a]![p]!;
  const fwd = await applySite(site, acts, x, S, dtype);
  const error = output.map((o, a) => {
    const e = new Float64Array(S * d);
    for (let p = 0; p < S; p++)
      for (let c = 0; c < d; c++) e[p * d + c] = o[p * d + c]! - fwd.recon[(p * A + a) * d + c]!;
    return e;
  });
  const lorsa = site.role === 'lorsa' ? lorsaPattern(cfg as unknown as LorsaConfig, site.params, x, S) : null;
  return {
    weights: siteWeights(site),
    cIn,
    cOut,
    acts: fwd.acts,
    pre: fwd.pre,
    input,
    output,
    error,
    lorsaPattern: lorsa ? lorsa.pattern : null,
    lorsaQK: lorsa ? { q: lorsa.q, k: lorsa.k } : null,
  };
}

/** Runs the real model on `ids` (one sequence) and records the frozen replacement model's state. */
export async function captureFrozenState(
  model: HookedTransformer,
  rm: ReplacementModel,
  ids: readonly number[],
  dtype: 'float32' | 'float64' = 'float32',
): Promise<FrozenState> {
  const cfg = model.cfg;
  const S = ids.length;
  const d = cfg.dModel;
  const names = cacheList(model, rm);
  const out = model.forward([ids], { cache: names });
  const acts: Record<string, Float64Array> = {};
  let lastLogits: Float64Array;
  try {
    for (const n of names) acts[n] = f64(out.cache[n]!);
    const logits = out.logits!.dataSync();
    lastLogits = Float64Array.from(logits.subarray((S - 1) * cfg.dVocab, S * cfg.dVocab));
  } finally {
    tf.dispose([...Object.values(out.cache), ...(out.logits ? [out.logits] : [])]);
  }
  const w = model.weights;
  const centre = cfg.normType === 'layernorm';
  const layers = w.blocks.map((b, l): FrozenLayer => {
    const a = b.attn;
    const postScale = (hook: 'ln1_post.hook_in' | 'ln2_post.hook_in') =>
      scaleOf(acts[hookName(l, hook)]!, S, d, centre, cfg.normEps);
    const qkScale = (hook: 'attn.hook_q' | 'attn.hook_k', heads: number) =>
      cfg.qkNorm ? scaleOf(acts[hookName(l, hook)]!, S * heads, cfg.dHead, false, cfg.normEps) : null;
    return {
      ln1: frozenNorm(b.ln1, acts[hookName(l, 'ln1.hook_scale')]!, centre),
      ln2: frozenNorm(b.ln2, acts[hookName(l, 'ln2.hook_scale')]!, centre),
      ln1Post: b.ln1Post ? frozenNorm(b.ln1Post, postScale('ln1_post.hook_in'), centre) : null,
      ln2Post: b.ln2Post ? frozenNorm(b.ln2Post, postScale('ln2_post.hook_in'), centre) : null,
      attention: {
        W_V: host(a.W_V),
        b_V: a.b_V ? host(a.b_V) : null,
        W_O: host(a.W_O),
        b_O: a.b_O ? host(a.b_O) : null,
        nHeads: cfg.nHeads,
        nKvHeads: cfg.nKvHeads,
        dHead: cfg.dHead,
      },
      pattern: rm.attn[l] ? null : acts[hookName(l, 'attn.hook_pattern')]!,
      qNormScale: qkScale('attn.hook_q', cfg.nHeads),
      kNormScale: qkScale('attn.hook_k', cfg.nKvHeads),
    };
  });
  const sites: FrozenSite[] = [];
  for (let i = 0; i < rm.sites.length; i++) sites.push(await frozenSite(rm, i, acts, S, dtype));
  return {
    rm,
    ids: [...ids],
    S,
    d,
    embed: acts[HOOK_EMBED]!,
    posEmbed: w.W_pos ? acts[HOOK_POS_EMBED]! : null,
    layers,
    lnFinal: frozenNorm(w.lnFinal, acts[HOOK_LN_FINAL_SCALE]!, centre),
    W_U: host(w.W_U),
    b_U: w.b_U ? host(w.b_U) : null,
    lastLogits,
    sites,
  };
}
