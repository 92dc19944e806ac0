// Sparse TopK dictionary kernels on the CPU: with k active latents per token, decoding and the backward pass
// touch only the k selected rows of W_D (and columns of W_E), so after the dense encoder matmul (gemm.h) a
// training step costs O(B·k·d) instead of O(B·F·d). Float32 throughout, row-major, no allocation escapes.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cpu.h"
#include "gemm.h"
#include "lm_kernels.h"
#include "scratch.h"
#include "sparse_topk.h"
#include "transpose.h"

/* (value, index) pairs packed into one unsigned key ordered like "larger value, then lower index": the float's
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

/* Offers `key` to a min-heap of at most k keys holding the k largest seen (size in *size); returns the root. */
static inline void heap_offer(uint64_t *h, int64_t *size, int64_t k, uint64_t key) {
  if (*size < k) {
    int64_t c = (*size)++; /* sift up */
    while (c > 0) {
      const int64_t p = (c - 1) / 2;
      if (h[p] <= key) break;
      h[c] = h[p];
      c = p;
    }
    h[c] = key;
    return;
  }
  if (key <= h[0]) return;
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
}
/* Top-k of row + bias by a min-heap of k packed keys: the k largest values and their indices, ties to the lower
 * index (a later element enters only when strictly larger than the root). */
static void row_topk(const float *restrict row, const float *restrict bias, int64_t n, int64_t k, float *restrict hv, int32_t *restrict hi) {
  uint64_t stack_heap[256];
  uint64_t *h = k <= 256 ? stack_heap : (uint64_t *)malloc((size_t)k * sizeof(uint64_t));
  int64_t size = 0;
  float root = 0.0f; /* the heap's least value, once it holds k */
  for (int64_t i = 0; i < n; i++) {
    const float v = row[i] + bias[i];
    if (size == k && !(v > root)) continue; /* the common case, without packing a key */
    heap_offer(h, &size, k, pack_key(v, i));
    if (size == k) root = key_value(h[0]);
  }
  for (int64_t j = 0; j < size; j++) {
    hv[j] = key_value(h[j]);
    hi[j] = key_index(h[j]);
  }
  if (h != stack_heap) free(h);
}

void sparse_topk_encode(const float *x, const float *b_dec_in, const float *W_E, const float *b_E, int64_t B, int64_t d,
                        int64_t F, int64_t k, float *pre_scratch, float *values, int32_t *indices, float *fired) {
  /* The screen subtracts b_D as it reads x; the sgemm path needs x − b_D written out. */
  if (!topk_screen_encode(x, b_dec_in, W_E, b_E, B, d, F, k, values, indices)) {
    const float *in = x;
    if (b_dec_in) {
      static _Thread_local ScratchBuf b_shifted;
      float *shifted = (float *)scratch_get(&b_shifted, (size_t)(B * d) * sizeof(float));
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < d; j++) shifted[b * d + j] = x[b * d + j] - b_dec_in[j];
      in = shifted;
    }
    /* pre = in @ W_E (+ b_E, added while selecting) */
    float *pre = pre_scratch ? pre_scratch : (float *)malloc((size_t)(B * F) * sizeof(float));
    sae_sgemm(false, false, B, F, d, 1.0f, in, d, W_E, F, 0.0f, pre, F);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; b++) row_topk(pre + b * F, b_E, F, k, values + b * k, indices + b * k);
    if (pre != pre_scratch) free(pre);
  }
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < B * k; p++) values[p] = values[p] > 0.0f ? values[p] : 0.0f; /* ReLU after TopK */
  if (!fired) return;
  /* Firings per latent: integer counts per thread over a share of the tokens, added after (exact in any order). */
  static _Thread_local ScratchBuf b_counts;
  const int threads = omp_get_max_threads();
  int32_t *counts = (int32_t *)scratch_get(&b_counts, (size_t)threads * (size_t)F * sizeof(int32_t));
  int used = 1;
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    if (t == 0) used = T;
    int32_t *c = counts + (int64_t)t * F;
    memset(c, 0, (size_t)F * sizeof(int32_t));
    for (int64_t p = B * t / T * k; p < B * (t + 1) / T * k; p++) c[indices[p]] += values[p] > 0.0f;
  }
  for (int64_t f = 0; f < F; f++) {
    int64_t n = 0;
    for (int t = 0; t < used; t++) n += counts[(int64_t)t * F + f];
    fired[f] = (float)n;
  }
}

/* The hot loops below are compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time. Without
 * -ffast-math (and with -std=c11, which turns FMA contraction off) every clone performs the same float operations
 * in the same order, so results do not depend on the machine's vector width. */
#if defined(__x86_64__) && defined(__GNUC__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

CLONES static void decode_row(const float *restrict values, const int32_t *restrict indices, const float *restrict W_D, const float *restrict b_D,
                              int64_t k, int64_t d, float *restrict o) {
  if (b_D) memcpy(o, b_D, (size_t)d * sizeof(float));
  else memset(o, 0, (size_t)d * sizeof(float));
  for (int64_t j = 0; j < k; j++) {
    const float v = values[j];
    if (v == 0.0f) continue;
    const float *restrict w = W_D + (int64_t)indices[j] * d;
    for (int64_t t = 0; t < d; t++) o[t] += v * w[t];
  }
}

void sparse_topk_decode(const float *values, const int32_t *indices, const float *W_D, const float *b_D, int64_t B, int64_t k,
                        int64_t d, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; b++) decode_row(values + b * k, indices + b * k, W_D, b_D, k, d, out + b * d);
}

/* The decoder and the reconstruction loss's gradient in one pass, for a training step that needs no
 * reconstruction: per token, recon as sparse_topk_decode makes it (in a row buffer), the residual e = y − recon and
 * row_err = Σ e² as row_sq_err makes them, and g = −(e · 2 dy) as row_sq_err_grad_from_residual — the same
 * operations, so the same results to the bit, without writing recon or reading it back. */
void sparse_topk_decode_residual(const float *values, const int32_t *indices, const float *W_D, const float *b_D, const float *y, const float *dy,
                                 int64_t B, int64_t k, int64_t d, float *g, float *row_err) {
#pragma omp parallel
  {
    static _Thread_local ScratchBuf b_row;
    float *recon = (float *)scratch_get(&b_row, (size_t)d * sizeof(float));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < B; b++) {
      float *gb = g + b * d;
      decode_row(values + b * k, indices + b * k, W_D, b_D, k, d, recon);
      row_err[b] = row_sq_err_one(y + b * d, recon, d, gb);
      const float s = 2.0f * dy[b];
      for (int64_t j = 0; j < d; j++) gb[j] = -(gb[j] * s);
    }
  }
}

static inline float dot(const float *restrict a, const float *restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t t = 0;
  for (; t + 8 <= n; t += 8)
    for (int u = 0; u < 8; u++) acc[u] += a[t + u] * b[t + u];
  float s = 0.0f;
  for (; t < n; t++) s += a[t] * b[t];
  for (int u = 0; u < 8; u++) s += acc[u];
  return s;
}

/* A run of one latent's (token, slot) pairs order[q0..q1): accumulates v·g_b into its dW_D row (aw, may be NULL)
 * and dz·x_b into its dW_Eᵀ row (ae), dz = g_b·w with w its W_D row; returns Σ dz. */
CLONES static float latent_run(const float *restrict g, const float *restrict x, const float *restrict values, const int32_t *restrict order, int64_t q0,
                               int64_t q1, int64_t k, int64_t d, const float *restrict w, float *restrict aw, float *restrict ae) {
  float sdz = 0.0f;
  for (int64_t q = q0; q < q1; q++) {
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
  return sdz;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The run's v·g_b and dz·x_b added to nv·16 columns (nv ≤ 8) of its dW_D and dW_Eᵀ rows, held in registers across
 * n pairs: the same fused multiply-adds in the same (pair) order as adding each pair's row in memory, without the
 * loads and stores of the two rows per pair. The last vector's lanes past the row's end are masked off (last). */
__attribute__((target("avx512f"), always_inline)) static inline void run_columns(const float *restrict g, const float *restrict x,
                                                                                const float *restrict values, const int32_t *restrict order,
                                                                                const float *restrict dzs, int64_t n, int64_t k, int64_t d,
                                                                                int64_t c, const int nv, __mmask16 last, float *restrict aw,
                                                                                float *restrict ae) {
  __m512 w[8], e[8];
  __mmask16 m[8];
  for (int j = 0; j < nv; j++) {
    m[j] = j + 1 < nv ? (__mmask16)0xFFFF : last;
    e[j] = _mm512_maskz_loadu_ps(m[j], ae + c + 16 * j);
    w[j] = aw ? _mm512_maskz_loadu_ps(m[j], aw + c + 16 * j) : _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < n; i++) {
    const int64_t p = order[i], b = p / k;
    const float *restrict gb = g + b * d + c, *restrict xb = x + b * d + c;
    const __m512 dz = _mm512_set1_ps(dzs[i]);
    for (int j = 0; j < nv; j++) e[j] = _mm512_fmadd_ps(dz, _mm512_maskz_loadu_ps(m[j], xb + 16 * j), e[j]);
    if (aw) {
      const __m512 v = _mm512_set1_ps(values[p]);
      for (int j = 0; j < nv; j++) w[j] = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m[j], gb + 16 * j), w[j]);
    }
  }
  for (int j = 0; j < nv; j++) {
    _mm512_mask_storeu_ps(ae + c + 16 * j, m[j], e[j]);
    if (aw) _mm512_mask_storeu_ps(aw + c + 16 * j, m[j], w[j]);
  }
}

/* latent_run with AVX-512 written out, on chunks of up to 32 pairs: first each pair's dz = g_b·w (two accumulators,
 * GCC vectorises the plain loop's 8-way dot poorly at this width), then v·g_b and dz·x_b added 128 columns at a
 * time with the two rows' columns in registers (run_columns). Its sums come in another order than the plain
 * loop's, so results differ from the portable version in the last bits, as machines with different BLAS do. */
__attribute__((target("avx512f"))) static float latent_run_avx512(const float *restrict g, const float *restrict x, const float *restrict values,
                                                                   const int32_t *restrict order, int64_t q0, int64_t q1, int64_t k, int64_t d,
                                                                   const float *restrict w, float *restrict aw, float *restrict ae, int64_t qend) {
  enum { Q = 32 };
  float sdz = 0.0f, dzs[Q];
  const int64_t full = d / 16 * 16;
  const __mmask16 tail = (__mmask16)((1u << (d - full)) - 1u);
  for (int64_t qc = q0; qc < q1; qc += Q) {
    const int64_t n = q1 - qc < Q ? q1 - qc : Q;
    for (int64_t i = 0; i < n; i++) {
      const int64_t q = qc + i;
      const float *restrict gb = g + order[q] / k * d;
      /* the g row two pairs ahead (maybe the next latent's) and this pair's x row, wanted by run_columns: gathered
       * rows no prefetcher foresees */
      const char *pg = q + 2 < qend ? (const char *)(g + order[q + 2] / k * d) : NULL, *px = (const char *)(x + order[q] / k * d);
      for (int64_t o = 0; o < d * (int64_t)sizeof(float); o += 64) {
        if (pg) _mm_prefetch(pg + o, _MM_HINT_T0);
        _mm_prefetch(px + o, _MM_HINT_T0);
      }
      __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
      int64_t t = 0;
      for (; t + 32 <= full; t += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(gb + t), _mm512_loadu_ps(w + t), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(gb + t + 16), _mm512_loadu_ps(w + t + 16), s1);
      }
      for (; t < d; t += 16) {
        const __mmask16 m = t < full ? (__mmask16)0xFFFF : tail;
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, gb + t), _mm512_maskz_loadu_ps(m, w + t), s0);
      }
      const float dz = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
      sdz += dz;
      dzs[i] = dz;
    }
    int64_t c = 0;
    for (; c + 128 <= d; c += 128) run_columns(g, x, values, order + qc, dzs, n, k, d, c, 8, (__mmask16)0xFFFF, aw, ae);
    if (c < d) { /* the last d − c < 128 columns, in as many vectors as they need (a constant count in each case) */
      const int64_t left = d - c, nv = (left + 15) / 16;
      const __mmask16 last = left % 16 ? (__mmask16)((1u << (left % 16)) - 1u) : (__mmask16)0xFFFF;
      switch (nv) {
#define RUN_COLUMNS_CASE(N) \
  case N: run_columns(g, x, values, order + qc, dzs, n, k, d, c, N, last, aw, ae); break;
        RUN_COLUMNS_CASE(1) RUN_COLUMNS_CASE(2) RUN_COLUMNS_CASE(3) RUN_COLUMNS_CASE(4)
        RUN_COLUMNS_CASE(5) RUN_COLUMNS_CASE(6) RUN_COLUMNS_CASE(7) RUN_COLUMNS_CASE(8)
#undef RUN_COLUMNS_CASE
      }
    }
  }
  return sdz;
}

#else
#define latent_run_avx512(g, x, values, order, q0, q1, k, d, w, aw, ae, qend) latent_run(g, x, values, order, q0, q1, k, d, w, aw, ae)
#endif

CLONES static void axpy(float a, const float *restrict x, int64_t n, float *restrict y) {
  for (int64_t t = 0; t < n; t++) y[t] += a * x[t];
}

CLONES static void add_rows(const float *restrict g, int64_t r0, int64_t r1, int64_t d, float *restrict acc) {
  for (int64_t b = r0; b < r1; b++)
    for (int64_t t = 0; t < d; t++) acc[t] += g[b * d + t];
}

/* p_out, m_out, v_out may be p, m, v themselves (an update in place): each element is read before it is written
 * and no element depends on another, which `ivdep` tells the vectoriser (no overlap checks, no scalar fallback). */
CLONES static void adam_chunk(const float *p, const float *restrict g, const float *m, const float *v, int64_t n, float step_size, float b1,
                              float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out) {
  /* The same float operations, in the same order, as the plain-tfjs formulation in sae/optim/adam.ts. */
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) {
    const float mi = m[i] * b1 + g[i] * one_minus_b1;
    const float vi = v[i] * b2 + (g[i] * g[i]) * one_minus_b2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] - (mi / (sqrtf(vi) / sqrt_c2 + eps)) * step_size;
  }
}

void adam_update(const float *p, const float *g, const float *m, const float *v, int64_t n, float step_size, float b1, float one_minus_b1, float b2,
                 float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out) {
  const int64_t C = 16384;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += C)
    adam_chunk(p + i, g + i, m + i, v + i, n - i < C ? n - i : C, step_size, b1, one_minus_b1, b2, one_minus_b2, eps, sqrt_c2, p_out + i, m_out + i,
               v_out + i);
}

/* The unit-norm decoder constraint, row by row (rows of d): project = 1 writes g − (g·w) w (the gradient with its
 * component along each unit row removed), project = 0 writes w / ‖w‖. One pass where tfjs runs 4–5 kernels. */
CLONES static void unit_row(const float *restrict g, const float *restrict w, int64_t d, int project, float *restrict out) {
  if (project) {
    const float s = dot(g, w, d);
    for (int64_t t = 0; t < d; t++) out[t] = g[t] - s * w[t];
  } else {
    const float n = sqrtf(dot(w, w, d));
    for (int64_t t = 0; t < d; t++) out[t] = w[t] / n;
  }
}

void unit_rows(const float *g, const float *w, int64_t rows, int64_t d, int project, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) unit_row(g ? g + r * d : NULL, w + r * d, d, project, out + r * d);
}

/* One Adam step for a matrix whose rows are kept at unit norm (the decoder): per row, the gradient's component
 * along the row is removed, Adam updates the row, and the row is renormalised — the operations of unit_rows
 * (project), adam_chunk and unit_rows (normalise) in that order, with the same results, in one pass over memory. */
CLONES static void adam_unit_row(const float *p, const float *restrict g, const float *m, const float *v, int64_t d, float step_size, float b1,
                                 float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out) {
  const float s = dot(g, p, d); /* (in place too: p is read whole here, then element by element before its write) */
#pragma GCC ivdep
  for (int64_t i = 0; i < d; i++) {
    const float gi = g[i] - s * p[i];
    const float mi = m[i] * b1 + gi * one_minus_b1;
    const float vi = v[i] * b2 + (gi * gi) * one_minus_b2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] - (mi / (sqrtf(vi) / sqrt_c2 + eps)) * step_size;
  }
  const float n = sqrtf(dot(p_out, p_out, d));
#pragma GCC ivdep
  for (int64_t i = 0; i < d; i++) p_out[i] = p_out[i] / n;
}

void adam_update_unit_rows(const float *p, const float *g, const float *m, const float *v, int64_t rows, int64_t d, float step_size, float b1,
                           float one_minus_b1, float b2, float one_minus_b2, float eps, float sqrt_c2, float *p_out, float *m_out, float *v_out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++)
    adam_unit_row(p + r * d, g + r * d, m + r * d, v + r * d, d, step_size, b1, one_minus_b1, b2, one_minus_b2, eps, sqrt_c2, p_out + r * d, m_out + r * d,
                  v_out + r * d);
}

/* One parameter's Adam step inside the fused backward: where it is (p, m, v) and where its update goes. */
typedef struct {
  const float *p, *m, *v;
  float *p_out, *m_out, *v_out;
  float step_size;
} AdamParam;

/*
 * The (token, slot) pairs are grouped by latent (a counting sort of `indices`), so each latent's rows of dW_D and
 * dW_Eᵀ are accumulated in one place by one thread: no write conflicts, and the latent's W_D row stays in cache.
 * Without `adam` the gradients are written out; with it (W_E, W_D, b_E, b_D in that order, b_D's p NULL when
 * there is none) every parameter takes its Adam step as soon as its gradient is complete — a W_D row right after
 * its latent, W_E's columns a group of 128 latents at a time, the biases at the end — so no gradient of W_E or W_D
 * ever reaches memory. The operations are those of the backward followed by adam_update / adam_update_unit_rows,
 * so the results are the same to the bit; and since each parameter is read only before its own update, the
 * outputs may be the inputs themselves (an update in place).
 */
static void backward(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices, const float *W_E,
                     const float *W_D, int64_t B, int64_t d, int64_t F, int64_t k, float *dW_E, float *db_E, float *dW_D, float *db_D,
                     const AdamParam *adam, const float *hyper /* b1, 1 − b1, b2, 1 − b2, eps, sqrt_c2 */, int unit_rows) {
  const int64_t P = B * k, G = 128, groups = (F + G - 1) / G;
  static _Thread_local ScratchBuf b_start, b_order, b_fill, b_dbE, b_part, b_dbD, b_wdb;
  int64_t *start = (int64_t *)scratch_get(&b_start, (size_t)(F + 1) * sizeof(int64_t));
  int32_t *order = (int32_t *)scratch_get(&b_order, (size_t)P * sizeof(int32_t));
  /* The counting sort by latent, each thread counting and then placing its share of the pairs: a latent's pairs
   * stay in increasing order (the first thread's before the second's), as a serial sort leaves them. */
  int64_t *fill = (int64_t *)scratch_get(&b_fill, (size_t)omp_get_max_threads() * (size_t)F * sizeof(int64_t));
#pragma omp parallel
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num(), p0 = P * t / T, p1 = P * (t + 1) / T;
    int64_t *c = fill + t * F;
    memset(c, 0, (size_t)F * sizeof(int64_t));
    for (int64_t p = p0; p < p1; p++) c[indices[p]] += values[p] > 0.0f;
#pragma omp barrier
#pragma omp single
    {
      start[0] = 0;
      for (int64_t f = 0; f < F; f++) {
        int64_t at = start[f];
        for (int64_t u = 0; u < T; u++) {
          const int64_t n = fill[u * F + f];
          fill[u * F + f] = at;
          at += n;
        }
        start[f + 1] = at;
      }
    }
    for (int64_t p = p0; p < p1; p++)
      if (values[p] > 0.0f) order[c[indices[p]]++] = (int32_t)p;
  }

  float *dbE = (float *)scratch_get(&b_dbE, (size_t)F * sizeof(float));
  const AdamParam *abD = adam && adam[3].p ? &adam[3] : NULL;
  float *dbD = adam ? (abD ? (float *)scratch_get(&b_dbD, (size_t)d * sizeof(float)) : NULL) : db_D;
  /* b_D's gradient through the encoder's input x − b_D is −W_E · db_E: summed per group of latents (wdb[group]) from
   * the W_E columns the group has just read, before they take their step. */
  float *wdb = dbD && b_dec_in ? (float *)scratch_get(&b_wdb, (size_t)(groups * d) * sizeof(float)) : NULL;
  /* Each thread owns a range of latents (whole groups of 128) holding about an equal share of the pairs, so no row
   * is written by two threads, and each latent adds its pairs in token order: no sum depends on the thread count.
   * A group's dW_E rows are gathered in a 128 × d buffer and transposed into dW_E [d, F] (or, with Adam, into a
   * [d][128] buffer: W_E's rows are F long, and one group is then 512 contiguous bytes of each row of its six arrays
   * rather than a cache line per page). (Token super-blocks kept in L2, with the latents' rows streamed in order,
   * were tried: no faster here.) */
  const int simd = cpu_has_avx512f();
  const float b1 = adam ? hyper[0] : 0, omb1 = adam ? hyper[1] : 0, b2 = adam ? hyper[2] : 0, omb2 = adam ? hyper[3] : 0;
  const float eps = adam ? hyper[4] : 0, sqrt_c2 = adam ? hyper[5] : 0;
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num(), total = start[F];
    int64_t f0 = 0, f1 = 0; /* the first latent whose pairs start at or after the share's beginning, down to a group */
    while (f0 < F && start[f0] < total * t / threads) f0++;
    while (f1 < F && (t + 1 == threads || start[f1] < total * (t + 1) / threads)) f1++;
    f0 = t == 0 ? 0 : f0 / G * G;
    f1 = t + 1 == threads ? F : f1 / G * G;
    static _Thread_local ScratchBuf b_ae, b_aw, b_gt;
    float *ae = (float *)scratch_get(&b_ae, (size_t)(G * d) * sizeof(float));
    float *aw1 = adam ? (float *)scratch_get(&b_aw, (size_t)d * sizeof(float)) : NULL;  /* one latent's dW_D row */
    float *gt = adam ? (float *)scratch_get(&b_gt, (size_t)(G * d) * sizeof(float)) : NULL; /* the group's dW_E, [d][G] */
    const AdamParam *we = adam ? &adam[0] : NULL, *wd = adam ? &adam[1] : NULL;
    for (int64_t fb = f0; fb < f1; fb += G) {
      const int64_t n = f1 - fb < G ? f1 - fb : G;
      memset(ae, 0, (size_t)(n * d) * sizeof(float));
      for (int64_t r = 0; r < n; r++) {
        const int64_t f = fb + r;
        float *aw = adam ? aw1 : dW_D ? dW_D + f * d : NULL;
        if (aw) memset(aw, 0, (size_t)d * sizeof(float));
        dbE[f] = simd ? latent_run_avx512(g, x, values, order, start[f], start[f + 1], k, d, W_D + f * d, aw, ae + r * d, start[F])
                      : latent_run(g, x, values, order, start[f], start[f + 1], k, d, W_D + f * d, aw, ae + r * d);
        /* the encoder saw x − b_D: Σ dz (x − b_D) = Σ dz x − (Σ dz) b_D */
        if (b_dec_in) axpy(-dbE[f], b_dec_in, d, ae + r * d);
        if (!adam) continue;
        const int64_t o = f * d; /* W_D's row takes its step at once, while its gradient is in L1 */
        if (unit_rows)
          adam_unit_row(wd->p + o, aw, wd->m + o, wd->v + o, d, wd->step_size, b1, omb1, b2, omb2, eps, sqrt_c2, wd->p_out + o, wd->m_out + o, wd->v_out + o);
        else
          adam_chunk(wd->p + o, aw, wd->m + o, wd->v + o, d, wd->step_size, b1, omb1, b2, omb2, eps, sqrt_c2, wd->p_out + o, wd->m_out + o, wd->v_out + o);
      }
      if (wdb)
        for (int64_t i = 0; i < d; i++) wdb[(fb / G) * d + i] = dot(W_E + i * F + fb, dbE + fb, n);
      if (!adam) {
        if (dW_E) transpose_f32_strided(ae, n, d, d, dW_E + fb, F);
        continue;
      }
      transpose_f32_strided(ae, n, d, d, gt, G);
      for (int64_t i = 0; i < d; i++) {
        const int64_t o = i * F + fb;
        adam_chunk(we->p + o, gt + i * G, we->m + o, we->v + o, n, we->step_size, b1, omb1, b2, omb2, eps, sqrt_c2, we->p_out + o, we->m_out + o, we->v_out + o);
      }
    }
  }

  if (dbD) {
    /* Σ_b g_b in 64 fixed chunks of tokens, added in order: the same sum whatever the thread count. */
    const int64_t chunks = 64, per = (B + chunks - 1) / chunks;
    float *part = (float *)scratch_get(&b_part, (size_t)(chunks * d) * sizeof(float));
    memset(part, 0, (size_t)(chunks * d) * sizeof(float));
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) add_rows(g, c * per < B ? c * per : B, (c + 1) * per < B ? (c + 1) * per : B, d, part + c * d);
    memset(dbD, 0, (size_t)d * sizeof(float));
    add_rows(part, 0, chunks, d, dbD);
    if (wdb) { /* d b_D −= W_E · d b_E, its groups added in order */
      for (int64_t i = 0; i < d; i++) {
        float s = 0.0f;
        for (int64_t q = 0; q < groups; q++) s += wdb[q * d + i];
        dbD[i] -= s;
      }
    }
  }
  if (!adam) {
    if (db_E) memcpy(db_E, dbE, (size_t)F * sizeof(float));
    return;
  }
  const AdamParam *bE = &adam[2];
  adam_update(bE->p, dbE, bE->m, bE->v, F, bE->step_size, b1, omb1, b2, omb2, eps, sqrt_c2, bE->p_out, bE->m_out, bE->v_out);
  if (abD) adam_update(abD->p, dbD, abD->m, abD->v, d, abD->step_size, b1, omb1, b2, omb2, eps, sqrt_c2, abD->p_out, abD->m_out, abD->v_out);
}

void sparse_topk_backward(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices,
                          const float *W_E, const float *W_D, int64_t B, int64_t d, int64_t F, int64_t k, float *dW_E,
                          float *db_E, float *dW_D, float *db_D) {
  backward(g, x, b_dec_in, values, indices, W_E, W_D, B, d, F, k, dW_E, db_E, dW_D, db_D, NULL, NULL, 0);
}

void sparse_topk_backward_adam(const float *g, const float *x, const float *b_dec_in, const float *values, const int32_t *indices, int64_t B,
                               int64_t d, int64_t F, int64_t k, const float *const params[4][3], float *const outs[4][3], const float step_size[4],
                               const float hyper[6], int unit_rows) {
  AdamParam a[4];
  for (int q = 0; q < 4; q++)
    a[q] = (AdamParam){.p = params[q][0], .m = params[q][1], .v = params[q][2], .p_out = outs[q][0], .m_out = outs[q][1], .v_out = outs[q][2],
                       .step_size = step_size[q]};
  backward(g, x, b_dec_in, values, indices, params[0][0], params[1][0], B, d, F, k, NULL, NULL, NULL, NULL, a, hyper, unit_rows);
}

