// The names of SAE Studio's own tfjs kernels, in one place (as tfjs's kernel_names.ts): each is registered per
// backend by register-custom-kernels.ts when the backend starts, and run by name through tf.engine().runKernel.

/** Fused Adam step [p', m', v'] (adam-update/). */
export const SAE_ADAM_UPDATE = 'SaeAdamUpdate';
/** Unit-norm decoder rows: the gradient's component along each row removed, or the rows renormalised (unit-rows/). */
export const SAE_UNIT_ROWS = 'SaeUnitRows';

/** Σ_j (a − b)² per row, its gradient, and the variant that also writes the residual a − b (row-sq-err/). */
export const SAE_ROW_SQ_ERR = 'SaeRowSqErr';
export const SAE_ROW_SQ_ERR_GRAD = 'SaeRowSqErrGrad';
export const SAE_ROW_SQ_ERR_RESIDUAL = 'SaeRowSqErrResidual';
export const SAE_ROW_SQ_ERR_RESIDUAL_GRAD = 'SaeRowSqErrResidualGrad';

/** The language model's fused forward kernels (row-norm/, causal-attention/, gelu-new/). */
export const SAE_ROW_NORM = 'SaeRowNorm';
export const SAE_CAUSAL_ATTENTION = 'SaeCausalAttention';
export const SAE_GELU_NEW = 'SaeGeluNew';
/** The token embedding plus the position embedding, in one pass (embed/). */
export const SAE_EMBED = 'SaeEmbed';
/** x·W + b followed, tile by tile in sgemm, by + r or the tanh GELU (linear-post/). */
export const SAE_LINEAR_POST = 'SaeLinearPost';
/** logsumexp of each logits row minus the next token's logit, for cross-entropy (token-losses/). */
export const SAE_TOKEN_LOSSES = 'SaeTokenLosses';
/** The same kernel's logsumexp of each logits row alone, for logits shared by several windows (token-losses/). */
export const SAE_TOKEN_LSE = 'SaeTokenLse';

/** The sparse TopK op on the host backends: forward (TopK or BatchTopK) and backward (sparse-topk/host.ts). */
export const SAE_SPARSE_TOPK_FORWARD = 'SaeSparseTopKForward';
export const SAE_SPARSE_BATCH_TOPK_FORWARD = 'SaeSparseBatchTopKForward';
export const SAE_SPARSE_TOPK_BACKWARD = 'SaeSparseTopKBackward';

/** The sparse TopK op's building blocks on webgpu (sparse-topk/webgpu.ts). */
export const SAE_TOPK_SELECT = 'SaeTopKSelect';
export const SAE_TOPK_GATHER = 'SaeTopKGather';
export const SAE_TOPK_DECODE = 'SaeTopKDecode';
export const SAE_TOPK_LATENT_CSR = 'SaeTopKLatentCsr';
export const SAE_TOPK_SEGMENT_REDUCE = 'SaeTopKSegmentReduce';
export const SAE_TOPK_SEGMENT_OUTER = 'SaeTopKSegmentOuter';
export const SAE_TOPK_LATENT_GRAD = 'SaeTopKLatentGrad';

/** The fused TopK training step's kernels (fused-step/): encode, decode with the loss, backward with Adam. */
export const SAE_FUSED_ENCODE = 'SaeSparseTopKEncode';
/** BatchTopK's encode for the fused step, host backends only (webgpu selects the batch before the step). */
export const SAE_FUSED_BATCH_ENCODE = 'SaeSparseBatchTopKEncode';
export const SAE_FUSED_DECODE_RESIDUAL = 'SaeTopKDecodeResidual';
export const SAE_FUSED_BACKWARD_ADAM = 'SaeTopKBackwardAdam';
/** The fused step's 128×128-tile encoder matmul on its own (webgpu; the sparse TopK op's forward uses it too). */
export const SAE_TILED_ENCODER = 'SaeTiledEncoder';
