// Each replacement site's encoder and decoder in one shape, float64, whatever its kind: per slot (a layer it reads)
// the encoder rows e_i [F, d] and constants b_i (the pre-activation h_i = c_in·x·e_i + b_i), and per (output slot t,
// source slot s) the decoder rows [F, d] with the output bias b_D(t) (raw output = (Σ f_i d_i + b_D) / c_out).
// Transcoder: e = W_Eᵀ, d = W_D. CLT: e(s) = W_E[s]ᵀ, d(t, s) = W_D.{t}[s]. Lorsa: e = W_V (through its frozen
// pattern: z_i(q) = Σ_k A_qk (c_in(k) x_k·W_V[i] + b_V[i])), d = W_O.
import { cltDecoderBiasKey, cltDecoderKey } from '../dictionary/kinds/clt';
import { f64 } from '../dictionary/host64';
import type { ReplacementSite } from './replacement';

export interface SiteWeights {
  F: number;
  /** Per slot: [F, d]. */
  enc: Float64Array[];
  /** Per slot: [F]. */
  encBias: Float64Array[];
  /** dec[t][s]: [F, d] for source slots s ≤ t (s = t only, unless a CLT). */
  dec: Float64Array[][];
  /** Per output slot: [d] (zeros without a decoder bias). */
  decBias: Float64Array[];
  /** Lorsa: OV heads per QK head (F / n_qk_heads); 0 otherwise. */
  lorsaGroup: number;
}

function transpose(m: Float64Array, rows: number, cols: number, offset = 0): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[offset + r * cols + c]!;
  return out;
}

export function siteWeights(site: ReplacementSite): SiteWeights {
  const { cfg, params } = site;
  const d = cfg.d_model;
  const F = cfg.d_sae;
  const has = (name: string) => params[name] !== undefined;
  const bias = (name: string) => (has(name) ? f64(params, name) : new Float64Array(d));
  switch (site.role) {
    case 'transcoder': {
      const W_E = f64(params, 'W_E');
      const encBias = f64(params, 'b_E');
      const b_D = bias('b_D');
      if ((cfg as unknown as { apply_decoder_bias_to_pre_encoder?: boolean }).apply_decoder_bias_to_pre_encoder)
        for (let i = 0; i < F; i++) for (let c = 0; c < d; c++) encBias[i]! -= b_D[c]! * W_E[c * F + i]!;
      return {
        F,
        enc: [transpose(W_E, d, F)],
        encBias: [encBias],
        dec: [[f64(params, 'W_D')]],
        decBias: [b_D],
        lorsaGroup: 0,
      };
    }
    case 'clt': {
      const L = site.slots.length;
      const W_E = f64(params, 'W_E');
      const b_E = f64(params, 'b_E');
      const dec: Float64Array[][] = [];
      for (let t = 0; t < L; t++) {
        const W = f64(params, cltDecoderKey(t));
        dec.push(Array.from({ length: t + 1 }, (_, s) => W.slice(s * F * d, (s + 1) * F * d)));
      }
      return {
        F,
        enc: Array.from({ length: L }, (_, s) => transpose(W_E, d, F, s * d * F)),
        encBias: Array.from({ length: L }, (_, s) => b_E.slice(s * F, (s + 1) * F)),
        dec,
        decBias: Array.from({ length: L }, (_, t) => bias(cltDecoderBiasKey(t))),
        lorsaGroup: 0,
      };
    }
    case 'lorsa':
      return {
        F,
        enc: [f64(params, 'W_V')],
        encBias: [f64(params, 'b_V')],
        dec: [[f64(params, 'W_O')]],
        decBias: [bias('b_D')],
        lorsaGroup: F / (cfg as unknown as { n_qk_heads: number }).n_qk_heads,
      };
  }
}
