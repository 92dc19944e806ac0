/* The one sgemm interface of the addon: every C caller (the N-API binding, the sparse kernels) goes through here,
 * so the addon builds without any system BLAS and can switch between its own sgemm and OpenBLAS/Accelerate. */
#ifndef SAE_GEMM_H
#define SAE_GEMM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* C = alpha · op(A) · op(B) + beta · C, row-major, op(X) = Xᵀ when trans is set; C is m x n, the inner size k.
 * beta = 0 writes C without reading it (NaNs there are cleared); k = 0 or alpha = 0 only scales C by beta. */
void sae_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
               const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* `batch` products; matrix i of an operand starts i · stride elements in (stride 0 broadcasts it). */
void sae_sgemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b, float beta,
                       float *c, int64_t ldc, int64_t stride_c, int64_t batch);

/* C = alpha · op(A) · op(B) + the bias row (n values) under every row of C, each matrix of the batch: the same bits
 * as filling every row of C with the bias and calling sae_sgemm_batched with beta = 1, without that pass over C (our
 * sgemm adds the bias where the first K block would have read C back; a system BLAS gets the filled C). */
void sae_sgemm_bias_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            int64_t lda, int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b,
                            const float *bias, float *c, int64_t ldc, int64_t stride_c, int64_t batch);

/* What sae_sgemm_post does to C = A·B + bias once it is complete: nothing; add r (C = (A·B + bias) + r, one more
 * rounding, the bits of adding the two tensors afterwards); or the tanh GELU of lm_kernels.h's gelu_new. */
typedef enum { SAE_POST_NONE = 0, SAE_POST_ADD = 1, SAE_POST_GELU_NEW = 2 } SaeGemmPostKind;

/* C = post(A · B + bias) for a row-major A (m x k), B (k x n), C and r (m x n, leading dimension n): the same bits
 * as sae_sgemm_bias_batched (or sae_sgemm, bias NULL) followed by the post-op over C, applied to each tile of C
 * while it is still in cache. r must not overlap C. Returns 0, doing nothing, for SAE_POST_GELU_NEW where
 * gelu_new is unavailable (no AVX-512). */
int sae_sgemm_post(int64_t m, int64_t n, int64_t k, const float *a, const float *b, const float *bias,
                   SaeGemmPostKind kind, const float *r, float *c);

typedef enum { SAE_BLAS_OWN = 0, SAE_BLAS_SYSTEM = 1 } SaeBlasBackend;

/* The system BLAS compiled in ("openblas", "accelerate"), or NULL when the addon was built without one. */
const char *sae_blas_system_name(void);
/* Selects the backend; false (nothing changed) when SYSTEM is asked for and none is linked. */
bool sae_blas_set_backend(SaeBlasBackend backend);
SaeBlasBackend sae_blas_backend(void);
/* Forces our kernels' instruction set ("portable", "avx2", "avx512"); false when this CPU or build lacks it. */
bool sae_gemm_set_isa(const char *isa);
const char *sae_gemm_isa(void);
/* Threads of the backend in use; setting applies to both, so a switch keeps the count. */
int sae_blas_threads(void);
void sae_blas_set_threads(int n);
/* "own (avx512, 2 threads)", "openblas (Zen)" or "accelerate", written into buf. */
void sae_blas_describe(char *buf, size_t size);
/* The system BLAS's build config and core name (OpenBLAS's own; fixed names for Accelerate; "" for none). */
const char *sae_blas_system_config(void);
const char *sae_blas_system_corename(void);
#endif
