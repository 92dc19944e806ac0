/* Fused language-model kernels on the CPU (see lm_kernels.c). */
#ifndef SAE_LM_KERNELS_H
#define SAE_LM_KERNELS_H
#include <stdint.h>

/* Per row of d values: LayerNorm (centre, then divide by sqrt(mean square + eps)) or, with rms, RMSNorm (no
 * centring); then times w and, when b is not NULL, plus b. The same float operations, in the same order, as
 * lm/components/norm.ts. */
void row_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t d, float eps, int rms, float *out);

/* out[r] = Σ_j (a − b)² (and, when e is not NULL, e = a − b); row_sq_err_grad: da = 2 (a − b) dy[r], db = −da
 * (either may be NULL); row_sq_err_grad_from_residual: the same from e = a − b, to the bit. */
void row_sq_err(const float *a, const float *b, int64_t rows, int64_t d, float *out, float *e);
void row_sq_err_grad(const float *a, const float *b, const float *dy, int64_t rows, int64_t d, float *da, float *db);
/* One row of row_sq_err (e may be NULL). */
float row_sq_err_one(const float *a, const float *b, int64_t d, float *e);
void row_sq_err_grad_from_residual(const float *e, const float *dy, int64_t rows, int64_t d, float *da, float *db);
/* out = x·σ(2u), 2u = x·(2√(2/π) + 2√(2/π)·0.044715·x²): the tanh GELU (HF gelu_new); returns 0, doing nothing,
 * without AVX-512. */
int gelu_new(const float *x, int64_t n, float *out);
/* Whether gelu_new runs here (AVX-512), and gelu_new of n floats in place on this thread, element for element
 * the same bits as gelu_new (only where it runs). */
int gelu_new_available(void);
/* out[r] = W_E[ids[r]] + W_pos[pos0 + r % S] (rows of d) for rows = B·S tokens, or W_E[ids[r]] alone when W_pos is
 * NULL: the embedding gather and the position add in one pass, each sum one float add. Returns 0, writing nothing,
 * when an id is outside [0, vocab). */
int embed_rows(const float *W_E, int64_t vocab, const int32_t *ids, const float *W_pos, int64_t pos0, int64_t B, int64_t S, int64_t d,
               float *out);
void gelu_new_inplace(float *x, int64_t n);
/* Causal attention forward on q [B, S, H, dh], k and v [B, S, Kh, dh] (query head h reads head h / (H / Kh)), into
 * z [B, S, H, dh]: softmax over the keys each query sees (j ≤ i, and j > i − window when window > 0) of
 * (scale·q_i)·k_j, times v; q is multiplied by scale as tf.mul(q, scale) would (1 for a q already scaled).
 * Returns 0, doing nothing, without AVX-512 or for dh > 128. */
int causal_attention_available(int64_t dh);
int causal_attention(const float *q, const float *k, const float *v, int64_t B, int64_t S, int64_t H, int64_t Kh, int64_t dh, int64_t window, float scale,
                     float *z);
/* out[r] = row for each of `rows` rows of n (a bias broadcast into a matmul's output before sgemm adds to it). */
void broadcast_rows(const float *row, int64_t n, int64_t rows, float *out);
/* Next-token losses of B windows of S positions: out[b (S − 1) + s] = logsumexp(logits[b, s, :]) − logits[b, s,
 * targets[b (S − 1) + s]] for s < S − 1, logits [B, S, V]. The float operations and their order are tfjs's
 * logSumExp (max, x − max, expf, a sequential sum, logf, + max), rows in parallel. With AVX-512 the exponentials
 * are musl's expf (the wasm backend's libc) on 8 lanes, equal to it on every float in [−110, 90]; without, the C
 * library's expf (glibc's differs from musl's on 2 of those 2.2e9 floats, by 1 ulp). logf is the C library's
 * (glibc's equals the wasm backend's on every float in [1, 8193]). A target outside [0, V) gives NaN. */
void token_losses(const float *logits, const int32_t *targets, int64_t B, int64_t S, int64_t V, float *out);
/* lse[i] = logsumexp(logits[i, :]) of each of `rows` rows of V, by token_losses' float operations (its loss is
 * lse − the target's logit): an evaluation whose windows share their logits computes it once per shared row. */
void token_lse(const float *logits, int64_t rows, int64_t V, float *lse);
#endif
