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
// Memory: one matrix at a time goes through float64, a row at a time; parameters no step changes are shared
// with the input rather than copied (a multi-gigabyte embedding of an RMSNorm model is never duplicated).
import type { ModelConfig } from './model-config';
import type { BlockParams, HostTensor, ModelParams, NormParams } from './params';

/** Returns the parameters in TransformerLens's processed basis; `params` is left untouched. */
export function processWeightsTransformerLens(
  cfg: ModelConfig,
  params: ModelParams<HostTensor>,
): ModelParams<HostTensor> {
  const isLn = cfg.normType === 'layernorm';
  if (isLn && cfg.gatedMlp) {
    // TL's GatedMLP adds b_in after the gate product, so an LN bias cannot be folded as in our MLP; no such model
    // is among our architectures.
    throw new Error('processWeightsTransformerLens: a gated MLP with LayerNorm is not supported');
  }
  // fold_ln into W_U, then (LN) centre it over d_model, then center_unembed over the vocabulary.
  const unembedBias = foldBias(params.lnFinal, params.W_U, params.b_U);
  const W_U = transformMatrix(params.W_U, { rowScale: params.lnFinal.w.data, centreCols: isLn, centreRows: true });
  return {
    // center_writing_weights: LayerNorm models only (TL skips it for RMSNorm).
    W_E: isLn ? transformMatrix(params.W_E, { centreRows: true }) : params.W_E,
    W_pos: isLn && params.W_pos ? transformMatrix(params.W_pos, { centreRows: true }) : params.W_pos,
    blocks: params.blocks.map((b) => processBlock(cfg, b, isLn)),
    lnFinal: identityNorm(cfg.dModel),
    W_U,
    b_U: unembedBias && toF32(centred(unembedBias)),
  };
}

function processBlock(cfg: ModelConfig, b: BlockParams<HostTensor>, isLn: boolean): BlockParams<HostTensor> {
  const a = b.attn;
  const m = b.mlp;
  // fold_ln: ln1 into Q/K/V, ln2 into the MLP's input maps; (LN) those maps centred over their input.
  const reading = (norm: NormParams<HostTensor>, W: HostTensor) =>
    transformMatrix(W, { rowScale: norm.w.data, centreCols: isLn });
  const bV = foldBias(b.ln1, a.W_V, a.b_V);
  // center_writing_weights (LN) on b_O, then fold_value_biases: b_O += Σ_h b_V[kv(h)] · W_O[h] (W_O centred).
  let bO: Float64Array | null = a.b_O ? Float64Array.from(a.b_O.data) : null;
  if (bO && isLn) bO = centred(bO);
  if (bV) bO ??= new Float64Array(cfg.dModel);
  const group = cfg.nHeads / cfg.nKvHeads;
  const W_O = transformMatrix(a.W_O, {
    centreRows: isLn,
    // Row h·d_head + j of W_O is head h's dimension j; it reads value dimension kv(h)·d_head + j.
    onRow: bV && bO ? addValueBiasRow(bV, bO, cfg.dHead, group) : undefined,
  });
  const bQ = foldBias(b.ln1, a.W_Q, a.b_Q);
  const bK = foldBias(b.ln1, a.W_K, a.b_K);
  const bIn = foldBias(b.ln2, m.W_in, m.b_in);
  return {
    ...b,
    ln1: identityNorm(cfg.dModel),
    ln2: identityNorm(cfg.dModel),
    attn: {
      ...a,
      W_Q: reading(b.ln1, a.W_Q),
      W_K: reading(b.ln1, a.W_K),
      W_V: reading(b.ln1, a.W_V),
      W_O,
      b_Q: bQ && toF32(bQ),
      b_K: bK && toF32(bK),
      b_V: null,
      b_O: bO && toF32(bO),
    },
    mlp: {
      W_in: reading(b.ln2, m.W_in),
      b_in: bIn && toF32(bIn),
      W_gate: m.W_gate && reading(b.ln2, m.W_gate),
      W_out: isLn ? transformMatrix(m.W_out, { centreRows: true }) : m.W_out,
      b_out: m.b_out && (isLn ? toF32(centred(Float64Array.from(m.b_out.data))) : m.b_out),
    },
  };
}

/** A norm that only normalizes (TransformerLens's LNPre / RMSPre): weight 1, no bias. */
function identityNorm(d: number): NormParams<HostTensor> {
  return { w: { data: new Float32Array(d).fill(1), shape: [d] }, b: null };
}

/**
 * The bias of x·W once the norm's bias is folded in: bias + norm.b·W, with W as loaded (TL folds biases before
 * scaling by the weight). Null when there is neither (RMSNorm and no bias).
 */
function foldBias(norm: NormParams<HostTensor>, W: HostTensor, bias: HostTensor | null): Float64Array | null {
  const [rows, cols] = W.shape as [number, number];
  if (!norm.b) return bias && Float64Array.from(bias.data);
  const out = bias ? Float64Array.from(bias.data) : new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const br = norm.b.data[r]!;
    for (let c = 0; c < cols; c++) out[c]! += br * W.data[r * cols + c]!;
  }
  return out;
}

interface MatrixSteps {
  /** Multiply row r by rowScale[r] (folding a norm weight into the map reading it). */
  rowScale?: ArrayLike<number>;
  /** Then subtract each column's mean over the rows. */
  centreCols?: boolean;
  /** Then subtract each row's mean over the columns. */
  centreRows?: boolean;
  /** Sees each finished float64 row before it is rounded. */
  onRow?: (r: number, row: Float64Array) => void;
}

/** Applies `steps` to a [rows, cols] matrix in float64, one row at a time, rounding to float32 once. */
function transformMatrix(W: HostTensor, steps: MatrixSteps): HostTensor {
  const [rows, cols] = W.shape as [number, number];
  const scale = (r: number) => (steps.rowScale ? steps.rowScale[r]! : 1);
  const colMean = new Float64Array(cols);
  if (steps.centreCols) {
    for (let r = 0; r < rows; r++) {
      const s = scale(r) / rows;
      for (let c = 0; c < cols; c++) colMean[c]! += s * W.data[r * cols + c]!;
    }
  }
  const out = new Float32Array(rows * cols);
  const row = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const s = scale(r);
    for (let c = 0; c < cols; c++) row[c] = s * W.data[r * cols + c]! - colMean[c]!;
    if (steps.centreRows) centreInPlace(row);
    steps.onRow?.(r, row);
    out.set(row, r * cols);
  }
  return { data: out, shape: [rows, cols] };
}

function addValueBiasRow(bV: Float64Array, bO: Float64Array, dHead: number, group: number) {
  return (r: number, row: Float64Array): void => {
    const h = Math.floor(r / dHead);
    const v = bV[Math.floor(h / group) * dHead + (r % dHead)]!;
    for (let c = 0; c < row.length; c++) bO[c]! += v * row[c]!;
  };
}

function centreInPlace(x: Float64Array): void {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  for (let i = 0; i < x.length; i++) x[i]! -= mean;
}

function centred(x: Float64Array): Float64Array {
  const out = Float64Array.from(x);
  centreInPlace(out);
  return out;
}

function toF32(x: Float64Array): HostTensor {
  return { data: Float32Array.from(x), shape: [x.length] };
}
