// Out-of-place float transposes for the sparse kernels ([d, F] ↔ [F, d] weight layouts). Whole 16×16 blocks go
// through registers (AVX-512 where the CPU has it: 16 loads, 64 shuffles, 16 stores); the edges, and CPUs without
// AVX-512, take a blocked scalar loop. Both write exactly the transposed values.
#include <stdint.h>

#include "cpu.h"
#include "transpose.h"
#include "transpose16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static void block16(const float *src, int64_t ls, float *dst, int64_t ld) {
  __m512 r[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ls);
  transpose16(r);
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
