/* The x86-64 micro-kernels of our sgemm, compiled with per-function `target` attributes (never -march) so one
 * binary carries them all; gemm.c picks one at load time with __builtin_cpu_supports. */
#include "internal.h"
#ifdef SAE_GEMM_X86
#include <immintrin.h>
#include <stddef.h>

#include "../transpose16.h"

/* AVX-512: an MR x 32 tile in 2·MR zmm accumulators. Each step broadcasts MR values of A against two vectors of
 * B; with MR = 12 that is 24 accumulators + 2 B vectors + 1 broadcast of the 32 registers, and 24 independent
 * FMAs per step cover the FMA latency on both pipes (Zen 4 runs a zmm FMA as two 256-bit halves). */
#define AVX512_MR 12
__attribute__((target("avx512f,fma"))) static void kernel_avx512(int64_t kc, const float *a, const float *b,
                                                                 float *c, int64_t ldc, float alpha, float beta,
                                                                 const float *bias, int mr, int nr) {
  __m512 acc[AVX512_MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < AVX512_MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  /* The C tile the epilogue reads (a later K block) or writes: fetched while the k loop runs, not on demand. */
  for (int i = 0; i < mr; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; p++, a += AVX512_MR, b += 32) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch((const char *)(b + 32 * 8), _MM_HINT_T0);
    _mm_prefetch((const char *)(b + 32 * 8 + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < AVX512_MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  /* Masked loads and stores cover a ragged right edge without a bounce buffer. */
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nr - 16)) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  /* The bias row in place of C: round(bias + r), as fmadd(1, C, r) would give on a C holding it. */
  const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < AVX512_MR; i++) {
    if (i >= mr) break;
    float *row = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
    if (bias) {
      r0 = _mm512_add_ps(bias0, r0);
      r1 = _mm512_add_ps(bias1, r1);
    } else if (beta != 0.0f) { /* beta = 0 never reads C, so NaNs there do not survive */
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), r1);
    }
    _mm512_mask_storeu_ps(row, m0, r0);
    _mm512_mask_storeu_ps(row + 16, m1, r1);
  }
}

/* Packs 12 rows of an untransposed A 16 columns at a time: 12 row loads (4 zero rows), one 16 x 16 register
 * transpose, 16 stores of 12 lanes, where the scalar gather would take a load and a store per element. */
__attribute__((target("avx512f"))) static void pack_a_rows_avx512(int64_t kc, const float *a, int64_t lda,
                                                                  float *out) {
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = i < AVX512_MR ? _mm512_loadu_ps(a + i * lda + p) : _mm512_setzero_ps();
    transpose16(r);
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(out + (p + q) * AVX512_MR, (__mmask16)0x0FFF, r[q]);
  }
  for (; p < kc; p++)
    for (int i = 0; i < AVX512_MR; i++) out[p * AVX512_MR + i] = a[i * lda + p];
}

/* Packs 32 rows of a transposed B (the panel's 32 columns) as two 16 x 16 register transposes per 16 steps of k;
 * the A·Bᵀ products (the SAE's dH, LM logits) pack all of B this way. */
__attribute__((target("avx512f"))) static void pack_bt_cols_avx512(int64_t kc, const float *b, int64_t ldb,
                                                                   float *out) {
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    for (int h = 0; h < 2; h++) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(b + (16 * h + i) * ldb + p);
      transpose16(r);
#pragma GCC unroll 16
      for (int q = 0; q < 16; q++) _mm512_store_ps(out + (p + q) * 32 + 16 * h, r[q]);
    }
  }
  for (; p < kc; p++)
    for (int j = 0; j < 32; j++) out[p * 32 + j] = b[j * ldb + p];
}

const SaeGemmKernel sae_kernel_avx512 = {"avx512", AVX512_MR, 32, 256, 240, 512, kernel_avx512, pack_a_rows_avx512,
                                         pack_bt_cols_avx512};

/* AVX2: a 6 x 16 tile in 12 ymm accumulators (of 16 registers); edges go through a small buffer. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(int64_t kc, const float *a, const float *b, float *c,
                                                            int64_t ldc, float alpha, float beta, const float *bias,
                                                            int mr, int nr) {
  __m256 acc[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; p++, a += 6, b += 16) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    _mm_prefetch((const char *)(b + 16 * 8), _MM_HINT_T0);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == 16) {
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      if (i >= mr) break;
      float *row = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
      if (bias) {
        r0 = _mm256_add_ps(bias0, r0);
        r1 = _mm256_add_ps(bias1, r1);
      } else if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    }
    return;
  }
  float tile[6][16];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) {
    _mm256_storeu_ps(tile[i], _mm256_mul_ps(va, acc[i][0]));
    _mm256_storeu_ps(tile[i] + 8, _mm256_mul_ps(va, acc[i][1]));
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) {
      float *cij = c + i * ldc + j;
      *cij = bias ? tile[i][j] + bias[j] : beta != 0.0f ? tile[i][j] + beta * *cij : tile[i][j];
    }
}

/* An 8 x 8 float transpose in ymm registers (24 shuffles): r[i] holds row i on entry, column i on return. */
__attribute__((target("avx2"), always_inline)) static inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; i++) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int j = 0; j < 4; j++) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

/* Packs 6 rows of an untransposed A 8 columns at a time through an 8 x 8 transpose (2 zero rows), as the AVX-512
 * path does with 16 x 16: the scalar gather left the decoder shapes at ~0.8 of OpenBLAS on this kernel. */
__attribute__((target("avx2"))) static void pack_a_rows_avx2(int64_t kc, const float *a, int64_t lda, float *out) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) r[i] = i < 6 ? _mm256_loadu_ps(a + i * lda + p) : _mm256_setzero_ps();
    transpose8(r);
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) _mm256_maskstore_ps(out + (p + q) * 6, six, r[q]);
  }
  for (; p < kc; p++)
    for (int i = 0; i < 6; i++) out[p * 6 + i] = a[i * lda + p];
}

/* Packs 16 rows of a transposed B (the panel's 16 columns) as two 8 x 8 transposes per 8 steps of k. */
__attribute__((target("avx2"))) static void pack_bt_cols_avx2(int64_t kc, const float *b, int64_t ldb, float *out) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int h = 0; h < 2; h++) {
      __m256 r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + (8 * h + i) * ldb + p);
      transpose8(r);
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) _mm256_store_ps(out + (p + q) * 16 + 8 * h, r[q]);
    }
  }
  for (; p < kc; p++)
    for (int j = 0; j < 16; j++) out[p * 16 + j] = b[j * ldb + p];
}

const SaeGemmKernel sae_kernel_avx2 = {"avx2", 6, 16, 256, 240, 512, kernel_avx2, pack_a_rows_avx2, pack_bt_cols_avx2};
#endif
