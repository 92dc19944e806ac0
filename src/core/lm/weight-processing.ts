// TransformerLens's weight processing (load_and_process_state_dict with its defaults: fold_ln,
// center_writing_weights, center_unembed, fold_value_biases), which lm-saes's `transformer_lens` backend applies:
// the activation basis 'transformer-lens'. Host float64 arithmetic, rounded to float32 once at the end.
//
// Reference: TransformerLens v2.17.0 (the version lm-saes's uv.lock pins), HookedTransformer.fold_layer_norm,
// center_writing_weights, center_unembed and fold_value_biases. Per normalization type (TL's own rules):
//  - LayerNorm (GPT-2, GPT-NeoX): fold each norm's weight and bias into the maps that read it (Q/K/V, MLP in, W_U),
//    centre those maps over d_model (their input is mean-free), centre every map writing to the residual stream
//    (W_E, W_pos, W_O, b_O, W_out, b_out) over d_model.
//  - RMSNorm (Llama, Qwen2, Qwen3, Gemma 2): fold the norm weight only (TL's fold_biases=False, center_weights=False)
//    and centre nothing that writes to the residual stream (TL skips center_writing_weights for non-LN models).
//    Gemma's (1 + w) is already in our loaded weights (as TL adds 1 when converting Gemma checkpoints).
//    Gemma 2's post-norms (ln1_post, ln2_post) and Qwen3's q/k norms keep their weights: TL folds only ln1, ln2
//    and ln_final.
//  - Every model: W_U and b_U centred over the vocabulary; value biases folded into b_O (GQA: query head h takes
//    b_V of its key/value head, TL's repeat_interleave), b_V removed.
// Flag: lm-saes calls load_and_process_state_dict directly, which (unlike TL's from_pretrained) does not skip
// center_unembed for models with final logit soft-capping (Gemma 2); we do the same, so Gemma 2's logits in this
// basis are softcap(z − mean z) rather than softcap(z): log-probs differ slightly from the unprocessed model.
import type { ModelConfig } from './model-config';
import { mapParams, type HostTensor, type ModelParams, type NormParams } from './params';

/** A float64 working copy of one parameter. */
interface Mat {
  data: Float64Array;
  shape: number[];
}

/** Returns new parameters in TransformerLens's processed basis; `params` is left untouched. */
export function processWeightsTransformerLens(
  cfg: ModelConfig,
  params: ModelParams<HostTensor>,
): ModelParams<HostTensor> {
  if (cfg.normType === 'layernorm' && cfg.gatedMlp) {
    // TL's GatedMLP adds b_in after the gate product, so an LN bias cannot be folded as in our MLP; no such model
    // is among our architectures.
    throw new Error('processWeightsTransformerLens: a gated MLP with LayerNorm is not supported');
  }
  const p = mapParams(params, (t): Mat => ({ data: Float64Array.from(t.data), shape: [...t.shape] }));
  const isLn = cfg.normType === 'layernorm';
  const d = cfg.dModel;

  // fold_ln
  for (const b of p.blocks) {
    const a = b.attn;
    a.b_Q = foldNorm(b.ln1, a.W_Q, a.b_Q, isLn);
    a.b_K = foldNorm(b.ln1, a.W_K, a.b_K, isLn);
    a.b_V = foldNorm(b.ln1, a.W_V, a.b_V, isLn);
    b.ln1 = identityNorm(d);
    const m = b.mlp;
    m.b_in = foldNorm(b.ln2, m.W_in, m.b_in, isLn);
    if (m.W_gate) foldNorm({ w: b.ln2.w, b: null }, m.W_gate, null, isLn);
    b.ln2 = identityNorm(d);
  }
  p.b_U = foldNorm(p.lnFinal, p.W_U, p.b_U, isLn);
  p.lnFinal = identityNorm(d);

  // center_writing_weights (LayerNorm models only, as in TL)
  if (isLn) {
    centreRows(p.W_E);
    if (p.W_pos) centreRows(p.W_pos);
    for (const b of p.blocks) {
      centreRows(b.attn.W_O);
      if (b.attn.b_O) centreRows(b.attn.b_O);
      centreRows(b.mlp.W_out);
      if (b.mlp.b_out) centreRows(b.mlp.b_out);
    }
  }

  // center_unembed: logits move by a constant per position.
  centreRows(p.W_U);
  if (p.b_U) centreRows(p.b_U);

  // fold_value_biases
  for (const b of p.blocks) {
    const a = b.attn;
    if (!a.b_V) continue;
    a.b_O = foldValueBias(cfg, a.b_V, a.W_O, a.b_O);
    a.b_V = null;
  }

  return mapParams(p, (t) => ({ data: Float32Array.from(t.data), shape: t.shape }));
}

/** A norm that only normalizes (TransformerLens's LNPre / RMSPre): weight 1, no bias. */
function identityNorm(d: number): NormParams<Mat> {
  return { w: { data: new Float64Array(d).fill(1), shape: [d] }, b: null };
}

/**
 * Folds norm (w, b) into W [d_in, d_out] (in place) and returns the new bias: b_new = bias + b·W, then
 * W[r, :] *= w[r], then (LayerNorm) W minus its mean over rows. Folding the bias first uses the unscaled W, as TL.
 */
function foldNorm(norm: NormParams<Mat>, W: Mat, bias: Mat | null, centre: boolean): Mat | null {
  const [rows, cols] = W.shape as [number, number];
  let out = bias;
  if (norm.b) {
    out = { data: bias ? Float64Array.from(bias.data) : new Float64Array(cols), shape: [cols] };
    for (let r = 0; r < rows; r++) {
      const br = norm.b.data[r]!;
      for (let c = 0; c < cols; c++) out.data[c]! += br * W.data[r * cols + c]!;
    }
  }
  for (let r = 0; r < rows; r++) {
    const wr = norm.w.data[r]!;
    for (let c = 0; c < cols; c++) W.data[r * cols + c]! *= wr;
  }
  if (centre) centreColumns(W);
  return out;
}

/** Subtracts from each row of a [rows, cols] matrix (or a vector) its mean over the last axis, in place. */
function centreRows(t: Mat): void {
  const cols = t.shape[t.shape.length - 1]!;
  for (let off = 0; off < t.data.length; off += cols) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += t.data[off + c]!;
    const mean = s / cols;
    for (let c = 0; c < cols; c++) t.data[off + c]! -= mean;
  }
}

/** Subtracts from each column of a [rows, cols] matrix its mean over the rows, in place. */
function centreColumns(t: Mat): void {
  const [rows, cols] = t.shape as [number, number];
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c]! += t.data[r * cols + c]!;
  for (let c = 0; c < cols; c++) mean[c]! /= rows;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t.data[r * cols + c]! -= mean[c]!;
}

/** b_O + Σ_h b_V[kv(h)] · W_O[h] with kv(h) = ⌊h / (n_heads / n_kv_heads)⌋ (our GQA grouping and TL's). */
function foldValueBias(cfg: ModelConfig, bV: Mat, W_O: Mat, bO: Mat | null): Mat {
  const d = cfg.dModel;
  const dh = cfg.dHead;
  const group = cfg.nHeads / cfg.nKvHeads;
  const out = bO ? Float64Array.from(bO.data) : new Float64Array(d);
  for (let h = 0; h < cfg.nHeads; h++) {
    const kv = Math.floor(h / group);
    for (let j = 0; j < dh; j++) {
      const v = bV.data[kv * dh + j]!;
      const row = (h * dh + j) * d; // W_O row of head h, dimension j
      for (let c = 0; c < d; c++) out[c]! += v * W_O.data[row + c]!;
    }
  }
  return { data: out, shape: [d] };
}
