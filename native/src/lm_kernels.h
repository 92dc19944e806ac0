/* Fused language-model kernels on the CPU (see lm_kernels.c). */
#ifndef SAE_LM_KERNELS_H
#define SAE_LM_KERNELS_H
#include <stdint.h>

/* Per row of d values: LayerNorm (centre, then divide by sqrt(mean square + eps)) or, with rms, RMSNorm (no
 * centring); then times w and, when b is not NULL, plus b. The same float operations, in the same order, as
 * lm/components/norm.ts. */
void row_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t d, float eps, int rms, float *out);
#endif
