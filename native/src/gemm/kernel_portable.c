/* The portable micro-kernel of our sgemm for any CPU (baseline x86-64, arm64, ...): a 6 x 8 tile in 12 four-wide
 * vectors of GCC/Clang's generic vector extension, which map to SSE2 or NEON registers (12 accumulators + 2 of B
 * + 1 broadcast fit the 16 that SSE2 has); a plain scalar loop nest was left at ~9 GFLOP/s by the vectoriser. */
#include <string.h>

#include "internal.h"

#define PMR 6
#define PNR 8

typedef float v4 __attribute__((vector_size(16)));

static void kernel_portable(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                            int64_t ldc, float alpha, float beta, const float *restrict bias, int mr, int nr) {
  v4 acc[PMR][2];
  memset(acc, 0, sizeof acc);
  for (int64_t p = 0; p < kc; p++, a += PMR, b += PNR) {
    v4 b0, b1;
    memcpy(&b0, b, sizeof b0); /* memcpy: the panel is aligned, but this keeps the loads legal C for any layout */
    memcpy(&b1, b + 4, sizeof b1);
    for (int i = 0; i < PMR; i++) {
      const v4 ai = {a[i], a[i], a[i], a[i]};
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  for (int i = 0; i < mr; i++) {
    float tile[PNR], *row = c + i * ldc;
    memcpy(tile, &acc[i][0], sizeof acc[i][0]);
    memcpy(tile + 4, &acc[i][1], sizeof acc[i][1]);
    if (bias) { /* written as the beta = 1 line below, so a contracted FMA stays the same */
      for (int j = 0; j < nr; j++) row[j] = alpha * tile[j] + bias[j];
    } else if (beta == 0.0f) {
      for (int j = 0; j < nr; j++) row[j] = alpha * tile[j];
    } else {
      for (int j = 0; j < nr; j++) row[j] = alpha * tile[j] + beta * row[j];
    }
  }
}

const SaeGemmKernel sae_kernel_portable = {"portable", PMR, PNR, 256, 240, 512, kernel_portable, 0, 0};
