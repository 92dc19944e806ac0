// Out-of-place float transposes for the sparse kernels ([d, F] ↔ [F, d] weight layouts). Whole 16×16 blocks go
// through registers (AVX-512 where the CPU has it: 16 loads, 64 shuffles, 16 stores); the edges, and CPUs without
// AVX-512, take a blocked scalar loop. Both write exactly the transposed values.
#include <stdint.h>

#include "cpu.h"
#include "transpose.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static void block16(const float *src, int64_t ls, float *dst, int64_t ld) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ls);
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) { /* r[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[4 * i]), _mm512_castps_pd(t[4 * i + 2])));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[4 * i]), _mm512_castps_pd(t[4 * i + 2])));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[4 * i + 1]), _mm512_castps_pd(t[4 * i + 3])));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[4 * i + 1]), _mm512_castps_pd(t[4 * i + 3])));
  }
  for (int j = 0; j < 4; j++) {
    t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    t[j + 4] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    t[j + 8] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    t[j + 12] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
  }
  for (int j = 0; j < 4; j++) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
    r[j + 4] = _mm512_shuffle_f32x4(t[j + 4], t[12 + j], 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(t[j + 4], t[12 + j], 0xDD);
  }
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ld, r[i]);
}

#else
static void block16(const float *src, int64_t ls, float *dst, int64_t ld) {
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) dst[j * ld + i] = src[i * ls + j];
}
#endif

void transpose_f32_strided(const float *src, int64_t rows, int64_t cols, int64_t ls, float *dst, int64_t ld) {
  const int64_t rf = cpu_has_avx512f() ? rows / 16 * 16 : 0, cf = cols / 16 * 16;
  for (int64_t r = 0; r < rf; r += 16)
    for (int64_t c = 0; c < cf; c += 16) block16(src + r * ls + c, ls, dst + c * ld + r, ld);
  for (int64_t r = 0; r < rf; r++)
    for (int64_t c = cf; c < cols; c++) dst[c * ld + r] = src[r * ls + c];
  for (int64_t r = rf; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) dst[c * ld + r] = src[r * ls + c];
}

void transpose_f32(const float *src, int64_t rows, int64_t cols, float *dst) {
  const int simd = cpu_has_avx512f();
  const int64_t T = 64; /* tiles of 64 × 64: in L1 on both sides */
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t r0 = 0; r0 < rows; r0 += T)
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      const int64_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
      int64_t rs = r0; /* where the scalar bottom edge starts */
      if (simd) {
        const int64_t rf = r0 + (r1 - r0) / 16 * 16, cf = c0 + (c1 - c0) / 16 * 16;
        for (int64_t r = r0; r < rf; r += 16)
          for (int64_t c = c0; c < cf; c += 16) block16(src + r * cols + c, cols, dst + c * rows + r, rows);
        rs = rf;
        for (int64_t r = r0; r < rf; r++) /* the right edge of the full-row blocks */
          for (int64_t c = cf; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
      for (int64_t r = rs; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
    }
}
