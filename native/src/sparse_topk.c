// Sparse TopK dictionary kernels on the CPU: with k active latents per token, decoding and the backward pass
// touch only the k selected rows of W_D (and columns of W_E), so after the dense encoder matmul (OpenBLAS) a
// training step costs O(B·k·d) instead of O(B·F·d). Float32 throughout, row-major, no allocation escapes.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "sparse_topk.h"

/* A (value, index) pair as one unsigned key ordered like "larger value, then lower index": the float's
 * order-preserving bits above, the complement of the index below. Ties then go to the lower index, as tf.topk's
 * do, at the cost of one integer comparison. */
static inline uint64_t pack_key(float v, int64_t i) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ((uint64_t)u << 32) | (uint64_t)(0xFFFFFFFFu - (uint32_t)i);
}

static inline float key_value(uint64_t key) {
  uint32_t u = (uint32_t)(key >> 32);
  u = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u;
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static inline int32_t key_index(uint64_t key) {
  return (int32_t)(0xFFFFFFFFu - (uint32_t)key);
}

/* Top-k of row + bias by a min-heap of k packed keys: the k largest values and their indices, ties to the lower
 * index (a later element enters only when strictly larger than the root). */
static void row_topk(const float *restrict row, const float *restrict bias, int64_t n, int64_t k, float *restrict hv, int32_t *restrict hi) {
  uint64_t stack_heap[256];
  uint64_t *h = k <= 256 ? stack_heap : (uint64_t *)malloc((size_t)k * sizeof(uint64_t));
  int64_t size = 0;
  int64_t i = 0;
  for (; i < n && size < k; i++) {
    const uint64_t key = pack_key(row[i] + bias[i], i);
    int64_t c = size++; /* sift up */
    while (c > 0) {
      const int64_t p = (c - 1) / 2;
      if (h[p] <= key) break;
      h[c] = h[p];
      c = p;
    }
    h[c] = key;
  }
  float root = size > 0 ? key_value(h[0]) : 0.0f;
  for (; i < n; i++) {
    const float v = row[i] + bias[i];
    if (!(v > root)) continue;
    const uint64_t key = pack_key(v, i);
    int64_t c = 0; /* replace the root and sift down */
    for (;;) {
      const int64_t l = 2 * c + 1, r = l + 1;
      int64_t m = c;
      uint64_t mk = key;
      if (l < k && h[l] < mk) { m = l; mk = h[l]; }
      if (r < k && h[r] < mk) { m = r; }
      if (m == c) break;
      h[c] = h[m];
      c = m;
    }
    h[c] = key;
    root = key_value(h[0]);
  }
  for (int64_t j = 0; j < size; j++) {
    hv[j] = key_value(h[j]);
    hi[j] = key_index(h[j]);
  }
  if (h != stack_heap) free(h);
}

void sparse_topk_encode(const float *x, const float *b_dec_in, const float *W_E, const float *b_E, int64_t B, int64_t d,
                        int64_t F, int64_t k, float *pre_scratch, float *values, int32_t *indices, float *fired) {
  const float *in = x;
  float *shifted = NULL;
  if (b_dec_in) {
    shifted = (float *)malloc((size_t)(B * d) * sizeof(float));
    for (int64_t b = 0; b < B; b++)
      for (int64_t j = 0; j < d; j++) shifted[b * d + j] = x[b * d + j] - b_dec_in[j];
    in = shifted;
  }
  /* pre = in @ W_E (+ b_E, added while selecting) */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)F, (int)d, 1.0f, in, (int)d, W_E, (int)F, 0.0f, pre_scratch, (int)F);
  free(shifted);
  if (fired) memset(fired, 0, (size_t)F * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; b++) {
    float *v = values + b * k;
    int32_t *ix = indices + b * k;
    row_topk(pre_scratch + b * F, b_E, F, k, v, ix);
    for (int64_t j = 0; j < k; j++) v[j] = v[j] > 0.0f ? v[j] : 0.0f; /* ReLU after TopK */
  }
  if (fired)
    for (int64_t b = 0; b < B; b++)
      for (int64_t j = 0; j < k; j++)
        if (values[b * k + j] > 0.0f) fired[indices[b * k + j]] += 1.0f;
}

void sparse_topk_decode(const float *values, const int32_t *indices, const float *W_D, const float *b_D, int64_t B, int64_t k,
                        int64_t d, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; b++) {
    float *o = out + b * d;
    if (b_D) memcpy(o, b_D, (size_t)d * sizeof(float));
    else memset(o, 0, (size_t)d * sizeof(float));
    for (int64_t j = 0; j < k; j++) {
      const float v = values[b * k + j];
      if (v == 0.0f) continue;
      const float *w = W_D + (int64_t)indices[b * k + j] * d;
      for (int64_t t = 0; t < d; t++) o[t] += v * w[t];
    }
  }
}

static float dot(const float *restrict a, const float *restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t t = 0;
  for (; t + 8 <= n; t += 8)
    for (int u = 0; u < 8; u++) acc[u] += a[t + u] * b[t + u];
  float s = 0.0f;
  for (; t < n; t++) s += a[t] * b[t];
  for (int u = 0; u < 8; u++) s += acc[u];
  return s;
}

/*
 * The (token, slot) pairs are grouped by latent (a counting sort of `indices`), so each latent's rows of dW_D and
 * dW_Eᵀ are accumulated in one place by one thread: no write conflicts, and the latent's W_D row stays in cache.
 */
void sparse_topk_backward(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices,
                          const float *W_E, const float *W_D, int64_t B, int64_t d, int64_t F, int64_t k, float *dW_E,
                          float *db_E, float *dW_D, float *db_D) {
  const int64_t P = B * k;
  int64_t *start = (int64_t *)calloc((size_t)(F + 1), sizeof(int64_t));
  int32_t *order = (int32_t *)malloc((size_t)P * sizeof(int32_t));
  for (int64_t p = 0; p < P; p++)
    if (values[p] > 0.0f) start[indices[p] + 1]++;
  for (int64_t f = 0; f < F; f++) start[f + 1] += start[f];
  int64_t *fill = (int64_t *)malloc((size_t)F * sizeof(int64_t));
  memcpy(fill, start, (size_t)F * sizeof(int64_t));
  for (int64_t p = 0; p < P; p++)
    if (values[p] > 0.0f) order[fill[indices[p]]++] = (int32_t)p;
  free(fill);

  float *dWEt = (float *)malloc((size_t)(F * d) * sizeof(float));
  float *dbE = (float *)malloc((size_t)F * sizeof(float));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t f = 0; f < F; f++) {
    const float *restrict w = W_D + f * d;
    float *restrict aw = dW_D ? dW_D + f * d : NULL;
    float *restrict ae = dWEt + f * d;
    if (aw) memset(aw, 0, (size_t)d * sizeof(float));
    memset(ae, 0, (size_t)d * sizeof(float));
    float sdz = 0.0f;
    for (int64_t q = start[f]; q < start[f + 1]; q++) {
      const int64_t p = order[q];
      const int64_t b = p / k;
      const float *restrict gb = g + b * d;
      const float *restrict xb = x + b * d;
      const float v = values[p];
      const float dz = dot(gb, w, d);
      sdz += dz;
      if (aw)
        for (int64_t t = 0; t < d; t++) aw[t] += v * gb[t];
      for (int64_t t = 0; t < d; t++) ae[t] += dz * xb[t];
    }
    /* the encoder saw x − b_D: Σ dz (x − b_D) = Σ dz x − (Σ dz) b_D */
    if (b_dec_in)
      for (int64_t t = 0; t < d; t++) ae[t] -= sdz * b_dec_in[t];
    dbE[f] = sdz;
  }
  free(order);
  free(start);

  if (db_D) {
    memset(db_D, 0, (size_t)d * sizeof(float));
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < d; t++) db_D[t] += g[b * d + t];
    /* through the encoder's input x − b_D: d b_D −= W_E · d b_E */
    if (b_dec_in) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)F, -1.0f, W_E, (int)F, dbE, 1, 1.0f, db_D, 1);
  }
  if (db_E) memcpy(db_E, dbE, (size_t)F * sizeof(float));
  if (dW_E) {
    const int64_t T = 64; /* blocked transpose [F, d] → [d, F] */
#pragma omp parallel for schedule(static)
    for (int64_t f0 = 0; f0 < F; f0 += T)
      for (int64_t i0 = 0; i0 < d; i0 += T)
        for (int64_t f = f0; f < f0 + T && f < F; f++)
          for (int64_t i = i0; i < i0 + T && i < d; i++) dW_E[i * F + f] = dWEt[f * d + i];
  }
  free(dbE);
  free(dWEt);
}

void adam_update(const float *restrict p, const float *restrict g, const float *restrict m, const float *restrict v, int64_t n,
                 float step_size, float b1, float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2,
                 float *restrict p_out, float *restrict m_out, float *restrict v_out) {
  /* The same float operations, in the same order, as the plain-tfjs formulation in sae/optim/adam.ts. */
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float mi = m[i] * b1 + g[i] * one_minus_b1;
    const float vi = v[i] * b2 + (g[i] * g[i]) * one_minus_b2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] - (mi / (sqrtf(vi) / sqrt_c2 + eps)) * step_size;
  }
}
