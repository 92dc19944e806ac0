/* Fused language-model kernels on the CPU (see lm_kernels.c). */
#ifndef SAE_LM_KERNELS_H
#define SAE_LM_KERNELS_H
#include <stdint.h>

/* Per row of d values: LayerNorm (centre, then divide by sqrt(mean square + eps)) or, with rms, RMSNorm (no
 * centring); then times w and, when b is not NULL, plus b. The same float operations, in the same order, as
 * lm/components/norm.ts. */
void row_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t d, float eps, int rms, float *out);

/* GELU with the tanh approximation (HF gelu_new / gelu_pytorch_tanh) as x·σ(2u), u = √(2/π)(x + 0.044715 x³). */
void gelu_tanh(const float *x, int64_t n, float *out);
#endif
