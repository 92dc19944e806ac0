/* Sparse TopK dictionary kernels (see sparse_topk.c) and their N-API registration. */
#ifndef SAE_SPARSE_TOPK_H
#define SAE_SPARSE_TOPK_H
#include <node_api.h>
#include <stdint.h>

void sparse_topk_encode(const float *x, const float *b_dec_in, const float *W_E, const float *b_E, int64_t B, int64_t d,
                        int64_t F, int64_t k, float *pre_scratch /* B·F floats, or NULL */, float *values, int32_t *indices, float *fired);
/* The screened encoder (topk_screen.c): the same top-k from 8-bit integer approximations with a rigorous error bound
 * and an fp32 recomputation of the candidates, of pre = (in − shift) W_E + b_E (shift may be NULL; subtracted as a
 * shifted copy of in would hold it). Returns 0, having done nothing, where it does not apply (no AVX-512 VNNI,
 * screening switched off, k ≥ F, d > 8192, non-finite or huge inputs); values are written before the ReLU. */
int topk_screen_encode(const float *in, const float *shift, const float *W_E, const float *b_E, int64_t B, int64_t d, int64_t F, int64_t k, float *values,
                       int32_t *indices);
int topk_screen_available(void);
int topk_screen_active(void);
int topk_screen_set_enabled(int on);
/* Counters since the last call (then reset): calls, tokens, candidates, tokens that gave up, prunes, last trigger. */
void topk_screen_stats(int64_t out[6]);

void sparse_topk_decode(const float *values, const int32_t *indices, const float *W_D, const float *b_D, int64_t B, int64_t k,
                        int64_t d, float *out);
/* decode and the reconstruction loss's gradient at once: g = −2 (y − recon) dy[b], row_err[b] = Σ (y − recon)²
 * (recon itself is not written). */
void sparse_topk_decode_residual(const float *values, const int32_t *indices, const float *W_D, const float *b_D, const float *y, const float *dy,
                                 int64_t B, int64_t k, int64_t d, float *g, float *row_err);
/* sparse_topk_backward with each parameter's Adam step folded in (params[q] = {p, m, v} for W_E, W_D, b_E, b_D —
 * b_D's all NULL when there is none —, outs[q] = {p', m', v'}, which may be params[q] itself for an update in
 * place, hyper = {b1, 1 − b1, b2, 1 − b2, eps, sqrt_c2},
 * unit_rows: W_D's rows kept at unit norm as adam_update_unit_rows does); the same results as the backward
 * followed by adam_update / adam_update_unit_rows, without the gradients of W_E and W_D ever in memory. */
void sparse_topk_backward_adam(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices, int64_t B,
                               int64_t d, int64_t F, int64_t k, const float *const params[4][3], float *const outs[4][3], const float step_size[4],
                               const float hyper[6], int unit_rows);
void sparse_topk_backward(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices,
                          const float *W_E, const float *W_D, int64_t B, int64_t d, int64_t F, int64_t k, float *dW_E,
                          float *db_E, float *dW_D, float *db_D);

/* One Adam step (PyTorch's formulation): m' = b1 m + (1 − b1) g, v' = b2 v + (1 − b2) g²,
 * p' = p − step_size · m' / (sqrt(v') / sqrt(c2) + eps), with step_size = lr / c1 (1 − b computed by the caller);
 * p', m', v' may be written over p, m, v. */
void adam_update(const float *p, const float *g, const float *m, const float *v, int64_t n, float step_size, float b1,
                 float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out);

/* adam_update for a [rows, d] matrix with unit-norm rows: gradient projected off each row first, rows
 * renormalised after (the same results as unit_rows, adam_update, unit_rows in turn). */
void adam_update_unit_rows(const float *p, const float *g, const float *m, const float *v, int64_t rows, int64_t d, float step_size, float b1,
                           float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out);

/* The unit-norm decoder constraint on [rows, d]: project → out = g − (g·w) w per row; otherwise out = w / ‖w‖. */
void unit_rows(const float *g, const float *w, int64_t rows, int64_t d, int project, float *out);

/* Adds topkEncode, topkDecode, topkBackward, adamUpdate, and the LM kernel rowNorm, to `exports`. */
napi_status register_sparse_topk(napi_env env, napi_value exports);
#endif
