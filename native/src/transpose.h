/* dst [cols, rows] = srcᵀ for src [rows, cols], row-major, in parallel; 16×16 AVX-512 blocks where available. */
#ifndef SAE_TRANSPOSE_H
#define SAE_TRANSPOSE_H
#include <stdint.h>
void transpose_f32(const float *src, int64_t rows, int64_t cols, float *dst);
/* The same, single-threaded, for a block with row strides: dst[c·ld + r] = src[r·ls + c]. */
void transpose_f32_strided(const float *src, int64_t rows, int64_t cols, int64_t ls, float *dst, int64_t ld);
#endif
