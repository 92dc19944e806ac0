/* sae_sgemm (gemm.h): dispatches each product to our own sgemm or to the system BLAS the addon was built with
 * (OpenBLAS via SAE_BLAS_OPENBLAS, Accelerate via SAE_BLAS_ACCELERATE), and handles the degenerate cases itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(SAE_BLAS_OPENBLAS)
#include <cblas.h>
#define SAE_SYSTEM_NAME "openblas"
#elif defined(SAE_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define SAE_SYSTEM_NAME "accelerate"
#endif

#include "../gemm.h"
#include "internal.h"
#include "../lm_kernels.h"

static const SaeGemmKernel *kernel_best(void) {
#ifdef SAE_GEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &sae_kernel_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &sae_kernel_avx2;
#endif
  return &sae_kernel_portable;
}

/* Read by every call and written only by the setters (the JS thread, between calls). */
static const SaeGemmKernel *g_kernel;
static int g_threads;
#ifdef SAE_SYSTEM_NAME
static SaeBlasBackend g_backend = SAE_BLAS_SYSTEM;
#else
static SaeBlasBackend g_backend = SAE_BLAS_OWN;
#endif

/* Runs when the addon is loaded: SAE_STUDIO_BLAS=own picks our sgemm even where a system BLAS is linked. */
__attribute__((constructor)) static void gemm_init(void) {
  g_kernel = kernel_best();
#ifdef _OPENMP
  g_threads = omp_get_max_threads();
#else
  g_threads = 1;
#endif
  const char *env = getenv("SAE_STUDIO_BLAS");
  if (env && strcmp(env, "own") == 0) g_backend = SAE_BLAS_OWN;
}

const char *sae_blas_system_name(void) {
#ifdef SAE_SYSTEM_NAME
  return SAE_SYSTEM_NAME;
#else
  return NULL;
#endif
}

bool sae_blas_set_backend(SaeBlasBackend backend) {
  if (backend == SAE_BLAS_SYSTEM && !sae_blas_system_name()) return false;
  g_backend = backend;
  return true;
}

SaeBlasBackend sae_blas_backend(void) { return g_backend; }

bool sae_gemm_set_isa(const char *isa) {
  const SaeGemmKernel *want = NULL;
  if (strcmp(isa, "portable") == 0) want = &sae_kernel_portable;
#ifdef SAE_GEMM_X86
  __builtin_cpu_init();
  if (strcmp(isa, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    want = &sae_kernel_avx2;
  }
  if (strcmp(isa, "avx512") == 0 && __builtin_cpu_supports("avx512f")) want = &sae_kernel_avx512;
#endif
  if (strcmp(isa, "best") == 0) want = kernel_best();
  if (!want) return false;
  g_kernel = want;
  return true;
}

const char *sae_gemm_isa(void) { return g_kernel->name; }

int sae_blas_threads(void) {
#ifdef SAE_BLAS_OPENBLAS
  if (g_backend == SAE_BLAS_SYSTEM) return openblas_get_num_threads();
#endif
  return g_threads;
}

void sae_blas_set_threads(int n) {
  g_threads = n < 1 ? 1 : n;
#ifdef SAE_BLAS_OPENBLAS
  openblas_set_num_threads(g_threads);
#endif
}

void sae_blas_describe(char *buf, size_t size) {
#ifdef SAE_BLAS_OPENBLAS
  if (g_backend == SAE_BLAS_SYSTEM) {
    snprintf(buf, size, "openblas (%s)", openblas_get_corename());
    return;
  }
#elif defined(SAE_BLAS_ACCELERATE)
  if (g_backend == SAE_BLAS_SYSTEM) {
    snprintf(buf, size, "accelerate");
    return;
  }
#endif
  snprintf(buf, size, "own (%s, %d thread%s)", g_kernel->name, g_threads, g_threads == 1 ? "" : "s");
}

const char *sae_blas_system_config(void) {
#ifdef SAE_BLAS_OPENBLAS
  return openblas_get_config();
#elif defined(SAE_BLAS_ACCELERATE)
  return "Apple Accelerate";
#else
  return "";
#endif
}

const char *sae_blas_system_corename(void) {
#ifdef SAE_BLAS_OPENBLAS
  return openblas_get_corename();
#elif defined(SAE_BLAS_ACCELERATE)
  return "vecLib";
#else
  return "";
#endif
}

/* C = beta · C, for the products that add nothing (k = 0 or alpha = 0); beta = 0 also clears NaNs. */
static void scale_c(float *c, int64_t m, int64_t n, int64_t ldc, float beta) {
  for (int64_t i = 0; i < m; i++) {
    float *row = c + i * ldc;
    if (beta == 0.0f) {
      memset(row, 0, (size_t)n * sizeof(float));
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
  }
}

/* Every row of C = bias, for the products that then add onto it from C (k = 0, alpha = 0, a system BLAS). */
static void fill_bias(float *c, int64_t m, int64_t n, int64_t ldc, const float *bias) {
  for (int64_t i = 0; i < m; i++) memcpy(c + i * ldc, bias, (size_t)n * sizeof(float));
}

/* One product; a bias (not NULL) stands for a C filled with it and beta = 1 (see sae_sgemm_bias_batched). */
static void gemm_one(int threads, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, const float *bias, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    if (bias) fill_bias(c, m, n, ldc, bias);
    else scale_c(c, m, n, ldc, beta);
    return;
  }
#ifdef SAE_SYSTEM_NAME
  if (g_backend == SAE_BLAS_SYSTEM) {
    if (bias) fill_bias(c, m, n, ldc, bias), beta = 1.0f;
    /* The binding limits every size and leading dimension to INT_MAX, so these casts are exact. */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return;
  }
#endif
  sae_own_sgemm(g_kernel, threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc, NULL);
}

void sae_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
               const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  gemm_one(g_threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, NULL, c, ldc);
}

static void gemm_batched(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                         int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b, float beta,
                         const float *bias, float *c, int64_t ldc, int64_t stride_c, int64_t batch) {
  /* Small products (attention heads) are too small to split; our sgemm then runs one product per thread. The
   * system BLAS keeps its own threading, one product at a time. */
  const bool per_thread = g_backend == SAE_BLAS_OWN && g_threads > 1 && batch >= g_threads &&
                          (double)m * (double)n * (double)k < 3e7;
#ifdef _OPENMP
  if (per_thread) {
#pragma omp parallel for schedule(static) num_threads(g_threads)
    for (int64_t i = 0; i < batch; i++) {
      gemm_one(1, ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, bias, c + i * stride_c,
               ldc);
    }
    return;
  }
#else
  (void)per_thread;
#endif
  for (int64_t i = 0; i < batch; i++) {
    gemm_one(g_threads, ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, bias,
             c + i * stride_c, ldc);
  }
}

void sae_sgemm_batched(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                       int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b, float beta, float *c,
                       int64_t ldc, int64_t stride_c, int64_t batch) {
  gemm_batched(ta, tb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, NULL, c, ldc, stride_c, batch);
}

void sae_sgemm_bias_batched(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            int64_t lda, int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b,
                            const float *bias, float *c, int64_t ldc, int64_t stride_c, int64_t batch) {
  gemm_batched(ta, tb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, 1.0f, bias, c, ldc, stride_c, batch);
}

int sae_sgemm_post(int64_t m, int64_t n, int64_t k, const float *a, const float *b, const float *bias,
                   SaeGemmPostKind kind, const float *r, float *c) {
  if (kind == SAE_POST_GELU_NEW && !gelu_new_available()) return 0;
  const SaeGemmPost post = {kind, r, n};
  const bool own = g_backend == SAE_BLAS_OWN && m > 0 && n > 0 && k > 0 && kind != SAE_POST_NONE;
  if (own) {
    sae_own_sgemm(g_kernel, g_threads, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, bias, c, n, &post);
    return 1;
  }
  /* A system BLAS (or a degenerate size): the product, then the post-op over all of C, row by row. */
  gemm_one(g_threads, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, bias, c, n);
  if (kind == SAE_POST_ADD) {
    for (int64_t i = 0; i < m * n; i++) c[i] = c[i] + r[i];
  } else if (kind == SAE_POST_GELU_NEW) {
    for (int64_t i = 0; i < m; i++) gelu_new_inplace(c + i * n, n);
  }
  return 1;
}
