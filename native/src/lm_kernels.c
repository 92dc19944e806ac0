// Fused language-model kernels for activation generation on the CPU: a norm in one pass per row where tfjs runs
// ~8 elementwise kernels, each reading and writing the whole activation.
#include <math.h>

#include "cpu.h"
#include "lm_kernels.h"

void row_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t d, float eps, int rms, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * d;
    float *restrict o = out + r * d;
    float mean = 0.0f;
    if (!rms) {
      float s = 0.0f;
      for (int64_t j = 0; j < d; j++) s += xr[j];
      mean = s / (float)d;
    }
    float ss = 0.0f;
    for (int64_t j = 0; j < d; j++) {
      const float c = xr[j] - mean;
      ss += c * c;
    }
    const float scale = sqrtf(ss / (float)d + eps);
    if (b) {
      for (int64_t j = 0; j < d; j++) o[j] = ((xr[j] - mean) / scale) * w[j] + b[j];
    } else {
      for (int64_t j = 0; j < d; j++) o[j] = ((xr[j] - mean) / scale) * w[j];
    }
  }
}

/* Σ_j (a − b)² per row (the reconstruction loss), and its gradient: da = 2 (a − b) dy_row, db = −da. With e not
 * NULL the residuals a − b are stored as well, so the gradient can be taken from them alone. */
static float sq_err_plain(const float *restrict a, const float *restrict b, int64_t d, float *restrict e_out) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int u = 0; u < 8; u++) {
      const float e = a[j + u] - b[j + u];
      if (e_out) e_out[j + u] = e;
      acc[u] += e * e;
    }
  float s = 0.0f;
  for (; j < d; j++) {
    const float e = a[j] - b[j];
    if (e_out) e_out[j] = e;
    s += e * e;
  }
  for (int u = 0; u < 8; u++) s += acc[u];
  return s;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static float sq_err_avx512(const float *restrict a, const float *restrict b, int64_t d, float *restrict e_out) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= d; j += 32) {
    const __m512 e0 = _mm512_sub_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j));
    const __m512 e1 = _mm512_sub_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16));
    if (e_out) {
      _mm512_storeu_ps(e_out + j, e0);
      _mm512_storeu_ps(e_out + j + 16, e1);
    }
    s0 = _mm512_fmadd_ps(e0, e0, s0);
    s1 = _mm512_fmadd_ps(e1, e1, s1);
  }
  for (; j < d; j += 16) {
    const __mmask16 m = d - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - j)) - 1u);
    const __m512 e = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j));
    if (e_out) _mm512_mask_storeu_ps(e_out + j, m, e);
    s0 = _mm512_fmadd_ps(e, e, s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#else
#define sq_err_avx512 sq_err_plain
#endif

float row_sq_err_one(const float *a, const float *b, int64_t d, float *e) { return (cpu_has_avx512f() ? sq_err_avx512 : sq_err_plain)(a, b, d, e); }

void row_sq_err(const float *a, const float *b, int64_t rows, int64_t d, float *out, float *e) {
  float (*f)(const float *, const float *, int64_t, float *) = cpu_has_avx512f() ? sq_err_avx512 : sq_err_plain;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) out[r] = f(a + r * d, b + r * d, d, e ? e + r * d : NULL);
}

void row_sq_err_grad(const float *a, const float *b, const float *dy, int64_t rows, int64_t d, float *da, float *db) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float s = 2.0f * dy[r];
    for (int64_t j = 0; j < d; j++) {
      const float g = (a[r * d + j] - b[r * d + j]) * s;
      if (da) da[r * d + j] = g;
      if (db) db[r * d + j] = -g;
    }
  }
}

void row_sq_err_grad_from_residual(const float *e, const float *dy, int64_t rows, int64_t d, float *da, float *db) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float s = 2.0f * dy[r];
    for (int64_t j = 0; j < d; j++) {
      const float g = e[r * d + j] * s; /* the same product as row_sq_err_grad's */
      if (da) da[r * d + j] = g;
      if (db) db[r * d + j] = -g;
    }
  }
}
