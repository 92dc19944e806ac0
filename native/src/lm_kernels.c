// Fused language-model kernels for activation generation on the CPU: a norm in one pass per row where tfjs runs
// ~8 elementwise kernels, each reading and writing the whole activation.
#include <math.h>

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
