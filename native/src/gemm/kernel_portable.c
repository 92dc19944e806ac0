/* The portable micro-kernel of our sgemm, plain C for any CPU (arm64 included): a 4 x 16 tile whose inner loop
 * the compiler vectorises with the baseline SIMD of the target (SSE2, NEON), no intrinsics needed. */
#include "internal.h"

#define PMR 4
#define PNR 16

static void kernel_portable(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                            int64_t ldc, float alpha, float beta, int mr, int nr) {
  float acc[PMR][PNR] = {{0}};
  for (int64_t p = 0; p < kc; p++, a += PMR, b += PNR) {
    for (int i = 0; i < PMR; i++) {
      const float ai = a[i];
      for (int j = 0; j < PNR; j++) acc[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < mr; i++) {
    float *row = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; j++) row[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < nr; j++) row[j] = alpha * acc[i][j] + beta * row[j];
    }
  }
}

const SaeGemmKernel sae_kernel_portable = {"portable", PMR, PNR, 256, 240, 512, kernel_portable};
