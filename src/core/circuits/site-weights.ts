// Each replacement site's encoder and decoder in one shape whatever its kind, as views of the dictionary's own
// float32 weights (no copies: a GPT-2-sized set is gigabytes in float64). Per slot (a layer it reads) the encoder
// rows e_i and constants b_i (the pre-activation h_i = c_in·x·e_i + b_i), and per (output slot t, source slot s)
// the decoder rows with the output bias b_D(t) (raw output = (Σ f_i d_i + b_D) / c_out).
// Transcoder: e = W_Eᵀ, d = W_D. CLT: e(s) = W_E[s]ᵀ, d(t, s) = W_D.{t}[s]. Lorsa: e = W_V (through its frozen
// pattern: z_i(q) = Σ_k A_qk (c_in(k) x_k·W_V[i] + b_V[i])), d = W_O.
import { cltDecoderBiasKey, cltDecoderKey } from '../dictionary/kinds/clt';
import { hostParam } from '../sae/host-tensor';
import type { ReplacementSite } from './replacement';

/** F rows of d numbers inside a flat array: row r, column c is data[offset + r·rowStride + c·colStride]. */
export interface RowView {
  data: Float32Array | Float64Array;
  offset: number;
  rowStride: number;
  colStride: number;
}

export interface SiteWeights {
  F: number;
  /** Per slot: the encoder rows [F, d]. */
  enc: RowView[];
  /** Per slot: [F]. */
  encBias: Float64Array[];
  /** dec[t][s]: the decoder rows [F, d] for source slots s ≤ t (s = t only, unless a CLT). */
  dec: RowView[][];
  /** Per output slot: [d] (zeros without a decoder bias). */
  decBias: Float64Array[];
  /** Lorsa: OV heads per QK head (F / n_qk_heads); 0 otherwise. */
  lorsaGroup: number;
}

/** Row r of `v` into out[at .. at + d), times `scale`. */
export function readRow(v: RowView, r: number, d: number, out: Float32Array | Float64Array, at = 0, scale = 1): void {
  const o = v.offset + r * v.rowStride;
  for (let c = 0; c < d; c++) out[at + c] = v.data[o + c * v.colStride]! * scale;
}

/** ⟨row r of v, x[at .. at + d)⟩. */
export function dotRow(v: RowView, r: number, x: ArrayLike<number>, at: number, d: number): number {
  const o = v.offset + r * v.rowStride;
  let s = 0;
  for (let c = 0; c < d; c++) s += v.data[o + c * v.colStride]! * x[at + c]!;
  return s;
}

const rows = (data: Float32Array, offset: number, d: number): RowView => ({ data, offset, rowStride: d, colStride: 1 });
const columns = (data: Float32Array, offset: number, F: number): RowView => ({
  data,
  offset,
  rowStride: 1,
  colStride: F,
});

export function siteWeights(site: ReplacementSite): SiteWeights {
  const { cfg, params } = site;
  const d = cfg.d_model;
  const F = cfg.d_sae;
  const raw = (name: string) => hostParam(params, name).data;
  const bias = (name: string, n: number) => (params[name] ? Float64Array.from(raw(name)) : new Float64Array(n));
  switch (site.role) {
    case 'transcoder': {
      const W_E = raw('W_E');
      const encBias = bias('b_E', F);
      const b_D = bias('b_D', d);
      if ((cfg as unknown as { apply_decoder_bias_to_pre_encoder?: boolean }).apply_decoder_bias_to_pre_encoder)
        for (let i = 0; i < F; i++) for (let c = 0; c < d; c++) encBias[i]! -= b_D[c]! * W_E[c * F + i]!;
      return {
        F,
        enc: [columns(W_E, 0, F)],
        encBias: [encBias],
        dec: [[rows(raw('W_D'), 0, d)]],
        decBias: [b_D],
        lorsaGroup: 0,
      };
    }
    case 'clt': {
      const L = site.slots.length;
      const W_E = raw('W_E');
      const b_E = bias('b_E', L * F);
      return {
        F,
        enc: Array.from({ length: L }, (_, s) => columns(W_E, s * d * F, F)),
        encBias: Array.from({ length: L }, (_, s) => b_E.slice(s * F, (s + 1) * F)),
        dec: Array.from({ length: L }, (_, t) => {
          const W = raw(cltDecoderKey(t));
          return Array.from({ length: t + 1 }, (_, s) => rows(W, s * F * d, d));
        }),
        decBias: Array.from({ length: L }, (_, t) => bias(cltDecoderBiasKey(t), d)),
        lorsaGroup: 0,
      };
    }
    case 'lorsa':
      return {
        F,
        enc: [rows(raw('W_V'), 0, d)],
        encBias: [bias('b_V', F)],
        dec: [[rows(raw('W_O'), 0, d)]],
        decBias: [bias('b_D', d)],
        lorsaGroup: F / (cfg as unknown as { n_qk_heads: number }).n_qk_heads,
      };
  }
}
