// Fused language-model kernels for activation generation on the CPU: one pass per row (norms) or per element
// (GELU) where tfjs runs 6–8 elementwise kernels, each reading and writing the whole activation.
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

void gelu_tanh(const float *x, int64_t n, float *out) {
  const float a = 2.0f * 0.7978845608028654f; /* 2·√(2/π) */
  const float c = a * 0.044715f;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float z = v * (a + (v * v) * c);
    out[i] = v / (1.0f + expf(-z));
  }
}
