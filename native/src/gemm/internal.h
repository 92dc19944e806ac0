/* Shared by our own sgemm's driver (own.c) and its micro-kernels (kernel_*.c): the packed-panel layout and the
 * kernel signature, so each ISA contributes only its register-blocked inner loop. */
#ifndef SAE_GEMM_INTERNAL_H
#define SAE_GEMM_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "../gemm.h"

/* C[0:mr, 0:nr] = alpha · a·b + beta · C (C not read when beta = 0), where a is a packed MR x kc panel stored
 * column by column (a[p·MR + i]) and b a packed kc x NR panel stored row by row (b[p·NR + j]), both zero-padded
 * past mr / nr, b 64-byte aligned. mr ≤ MR and nr ≤ NR cover the ragged edges of C. With a bias (not NULL; beta
 * is then ignored and C not read), C[i][j] = alpha · a·b + bias[j]: the same float operations as beta = 1 on a C
 * that holds the bias in every row. */
typedef void (*SaeMicroKernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                               float beta, const float *bias, int mr, int nr);

typedef struct {
  const char *name;
  int mr, nr;
  int kc, mc, nc; /* cache blocking: the A panel (mc x kc) and B block (kc x nc) this kernel is tuned with */
  SaeMicroKernel kernel;
  /* Optional: packs a full MR-row panel of an untransposed A (out[p·MR + i] = a[i·lda + p]) faster than the
   * scalar gather, which would otherwise cost ~10% of a product with a long K (the SAE decoder). */
  void (*pack_a_rows)(int64_t kc, const float *a, int64_t lda, float *out);
  /* Optional, likewise: packs a full NR-column panel of a transposed B (out[p·NR + j] = b[j·ldb + p]). */
  void (*pack_bt_cols)(int64_t kc, const float *b, int64_t ldb, float *out);
} SaeGemmKernel;

extern const SaeGemmKernel sae_kernel_portable;
/* SAE_GEMM_PORTABLE_ONLY builds what a non-x86 CPU gets (the portable kernel alone), to check that path on x86. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SAE_GEMM_PORTABLE_ONLY)
#define SAE_GEMM_X86 1
extern const SaeGemmKernel sae_kernel_avx2;
extern const SaeGemmKernel sae_kernel_avx512;
#endif

/* What happens to a tile of C once its last K block is written (sae_sgemm_post in gemm.h); r is at the origin of
 * the C it goes with. */
typedef struct {
  SaeGemmPostKind kind;
  const float *r;
  int64_t ldr;
} SaeGemmPost;

/* Our blocked sgemm on `threads` threads (k > 0, alpha != 0; the caller handles the degenerate cases); a bias (not
 * NULL, n values) takes the place of beta · C in the first K block, as sae_sgemm_bias describes. */
void sae_own_sgemm(const SaeGemmKernel *kern, int threads, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                   const float *bias, float *c, int64_t ldc, const SaeGemmPost *post);
#endif
