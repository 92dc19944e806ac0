// Shared builders for the analysis suites: hand-made windows for the tiny gpt2 fixture (vocab 512, no
// tokenizer) and synthetic dictionaries on `hook_embed` with known answers — "planted" features that fire on
// exactly one token id, and "graded" random-direction ReLU features whose activations the host recomputes.
import * as tf from '@tensorflow/tfjs-core';
import { SaeConfigSchema, type SaeConfigInput } from '../../../src/protocol/dictionary-config';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { Sae } from '../../../src/core/sae/variants/sae';

export const BOS = 0;
export const IGNORED = 9;

/** n windows of S tokens: BOS first, then ids drawn uniformly from [10, vocab), with `IGNORED` every so often. */
export function makeWindows(n: number, S: number, seed = 1, vocab = 512): TokenBatch {
  const rng = new Mt19937(seed);
  const ids = new Int32Array(n * S);
  for (let i = 0; i < ids.length; i++) {
    const u = rng.nextUint32();
    ids[i] = i % S === 0 ? BOS : u % 97 === 0 ? IGNORED : 10 + (u % (vocab - 10));
  }
  return { ids, batch: n, seq: S };
}

export interface Embeddings {
  W_E: Float32Array; // [V, d]
  V: number;
  d: number;
}

export async function embeddings(model: HookedTransformer): Promise<Embeddings> {
  const [V, d] = model.weights.W_E.shape as [number, number];
  return { W_E: (await model.weights.W_E.data()) as Float32Array, V, d };
}

function row(e: Embeddings, t: number): Float32Array {
  return e.W_E.subarray(t * e.d, (t + 1) * e.d);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** For a token t: its unit embedding direction, ‖e_t‖, and the largest projection of any other token on it. */
export function detector(e: Embeddings, t: number): { dir: Float32Array; self: number; others: number } {
  const et = row(e, t);
  const norm = Math.sqrt(dot(et, et));
  const dir = Float32Array.from(et, (v) => v / norm);
  let others = -Infinity;
  for (let u = 0; u < e.V; u++) if (u !== t) others = Math.max(others, dot(row(e, u), dir));
  return { dir, self: norm, others };
}

/** Token ids in [10, V) whose embedding projects on its own direction well above every other token's. */
export function detectableTokens(e: Embeddings, count: number): number[] {
  const scored: { t: number; margin: number }[] = [];
  for (let t = 10; t < e.V; t++) {
    const { self, others } = detector(e, t);
    scored.push({ t, margin: (self - others) / self });
  }
  return scored
    .sort((a, b) => b.margin - a.margin)
    .slice(0, count)
    .map((s) => s.t);
}

export interface SyntheticDictionary {
  sae: Sae;
  params: HostParams;
  /** planted[i] = the token feature i fires on, for i < planted.length. */
  planted: number[];
  /** The activation a planted feature takes on its token. */
  plantedValue: number[];
  /** Dense host activations [T, F] for token ids (the reference for the whole dictionary). */
  activations(ids: ArrayLike<number>): Float32Array;
}

/**
 * Features 0…planted.length−1 fire only on their token (encoder = unit embedding, b_E halfway between the token's
 * own projection and the best other token's); the rest are ReLU features on random directions with a bias that
 * makes them fire on a fraction of tokens. Decoder rows are random unless `W_D` is given.
 */
export function syntheticDictionary(
  e: Embeddings,
  planted: number[],
  F: number,
  opts: { seed?: number; W_D?: Float32Array; cfg?: Partial<SaeConfigInput> } = {},
): SyntheticDictionary {
  const { d } = e;
  const rng = new Mt19937(opts.seed ?? 3);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat53())) * Math.cos(2 * Math.PI * rng.nextFloat53());
  const W_E = new Float32Array(d * F);
  const b_E = new Float32Array(F);
  const plantedValue: number[] = [];
  planted.forEach((t, f) => {
    const { dir, self, others } = detector(e, t);
    const threshold = (self + others) / 2;
    for (let j = 0; j < d; j++) W_E[j * F + f] = dir[j]!;
    b_E[f] = -threshold;
    plantedValue.push(self - threshold);
  });
  const embNorm = Math.sqrt(dot(e.W_E, e.W_E) / e.V);
  for (let f = planted.length; f < F; f++) {
    const v = Array.from({ length: d }, gauss);
    const n = Math.sqrt(dot(v, v));
    for (let j = 0; j < d; j++) W_E[j * F + f] = v[j]! / n;
    b_E[f] = ((-0.3 * embNorm) / Math.sqrt(d)) * (1 + (f % 3)); // fires on roughly 10–40% of tokens
  }
  const W_D = opts.W_D ?? Float32Array.from({ length: F * d }, gauss);
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'hook_embed',
    d_model: d,
    d_sae: F,
    act_fn: 'relu',
    norm_activation: 'inference',
    use_decoder_bias: false,
    ...opts.cfg,
  });
  const params: HostParams = {
    W_E: { data: W_E, shape: [d, F] },
    b_E: { data: b_E, shape: [F] },
    W_D: { data: W_D, shape: [F, d] },
  };
  const activations = (ids: ArrayLike<number>) => {
    const out = new Float32Array(ids.length * F);
    for (let t = 0; t < ids.length; t++) {
      const x = row(e, ids[t]!);
      for (let f = 0; f < F; f++) {
        let s = b_E[f]!;
        for (let j = 0; j < d; j++) s += x[j]! * W_E[j * F + f]!;
        out[t * F + f] = Math.max(0, s);
      }
    }
    return out;
  };
  return { sae: new Sae(cfg, params), params, planted, plantedValue, activations };
}

/** The analysed positions of windows (not position 0, not IGNORED): flat index, window, position. */
export function analysedPositions(w: TokenBatch): { flat: number[]; window: number[]; position: number[] } {
  const out = { flat: [] as number[], window: [] as number[], position: [] as number[] };
  for (let i = 0; i < w.ids.length; i++) {
    if (i % w.seq === 0 || w.ids[i] === IGNORED) continue;
    out.flat.push(i);
    out.window.push(Math.floor(i / w.seq));
    out.position.push(i % w.seq);
  }
  return out;
}

export function tensorCount(): number {
  return tf.memory().numTensors;
}
