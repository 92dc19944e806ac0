// Fused language-model kernels for activation generation on the CPU: a norm in one pass per row where tfjs runs
// ~8 elementwise kernels, each reading and writing the whole activation.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "lm_kernels.h"
#include "transpose16.h"

/* One row of row_norm: sums in order over j, as norm.ts's tfjs ops take them. */
static void norm_row(const float *restrict xr, const float *w, const float *b, int64_t d, float eps, int rms, float *restrict o) {
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

#if defined(__x86_64__) && defined(__GNUC__)
/* Sixteen rows of row_norm at once, one row per lane: the rows transposed by 16×16 blocks into xt (d × 16), each
 * lane adds its row's values in norm_row's order, so the means and scales are norm_row's to the bit (a chain of d
 * dependent adds serves 16 rows instead of one); then each row's output 16 columns at a time. */
__attribute__((target("avx512f"))) static void norm_rows16(const float *x, const float *w, const float *b, int64_t d, float eps, int rms, float *out, float *xt) {
  for (int64_t j0 = 0; j0 < d; j0 += 16) {
    const __mmask16 m = d - j0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - j0)) - 1u);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, x + i * d + j0);
    transpose16(r);
    for (int c = 0; c < 16 && j0 + c < d; c++) _mm512_storeu_ps(xt + (j0 + c) * 16, r[c]);
  }
  const __m512 dv = _mm512_set1_ps((float)d);
  __m512 mean = _mm512_setzero_ps();
  if (!rms) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t j = 0; j < d; j++) s = _mm512_add_ps(s, _mm512_loadu_ps(xt + j * 16));
    mean = _mm512_div_ps(s, dv);
  }
  __m512 ss = _mm512_setzero_ps();
  for (int64_t j = 0; j < d; j++) {
    const __m512 c = _mm512_sub_ps(_mm512_loadu_ps(xt + j * 16), mean);
    ss = _mm512_add_ps(ss, _mm512_mul_ps(c, c));
  }
  float mv[16], sv[16];
  _mm512_storeu_ps(mv, mean);
  _mm512_storeu_ps(sv, _mm512_sqrt_ps(_mm512_add_ps(_mm512_div_ps(ss, dv), _mm512_set1_ps(eps))));
  for (int i = 0; i < 16; i++) {
    const __m512 mi = _mm512_set1_ps(mv[i]), si = _mm512_set1_ps(sv[i]);
    const float *xr = x + i * d;
    float *o = out + i * d;
    for (int64_t j = 0; j < d; j += 16) {
      const __mmask16 m = d - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - j)) - 1u);
      __m512 y = _mm512_mul_ps(_mm512_div_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + j), mi), si), _mm512_maskz_loadu_ps(m, w + j));
      if (b) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, b + j));
      _mm512_mask_storeu_ps(o + j, m, y);
    }
  }
}
#endif

void row_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t d, float eps, int rms, float *out) {
  int64_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512f() && rows >= 16) {
    const int64_t groups = rows / 16;
    done = groups * 16;
#pragma omp parallel
    {
      float *xt = (float *)malloc((size_t)(d * 16) * sizeof(float));
      if (!xt) abort(); /* as a failed tfjs allocation would: there is no way to go on */
#pragma omp for schedule(static)
      for (int64_t g = 0; g < groups; g++) norm_rows16(x + g * 16 * d, w, b, d, eps, rms, out + g * 16 * d, xt);
      free(xt);
    }
  }
#endif
  for (int64_t r = done; r < rows; r++) norm_row(x + r * d, w, b, d, eps, rms, out + r * d);
}

int embed_rows(const float *W_E, int64_t vocab, const int32_t *ids, const float *W_pos, int64_t pos0, int64_t B, int64_t S, int64_t d,
               float *out) {
  const int64_t rows = B * S;
  for (int64_t r = 0; r < rows; r++)
    if (ids[r] < 0 || ids[r] >= vocab) return 0;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *e = W_E + (int64_t)ids[r] * d;
    float *o = out + r * d;
    if (!W_pos) {
      memcpy(o, e, (size_t)d * sizeof(float));
      continue;
    }
    const float *p = W_pos + (pos0 + r % S) * d;
    for (int64_t j = 0; j < d; j++) o[j] = e[j] + p[j];
  }
  return 1;
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

#if defined(__x86_64__) && defined(__GNUC__)
/* e^x for x ≤ 0 (0 below −87.33, where expf leaves the normal range): x = n ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in
 * two parts, Cody–Waite), e^r from Cephes's expf polynomial (about 1 ulp), times 2^n. */
__attribute__((target("avx512f"))) static inline __m512 exp_nonpos(__m512 x) {
  const __mmask16 normal = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_GE_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_mov_ps(normal, _mm512_scalef_ps(y, n));
}

/* The keys j..j+15 that a query seeing keys lo ≤ j < hi sees, as lanes. */
static inline __mmask16 live_lanes(int64_t lo, int64_t hi, int64_t j) {
  const unsigned below = j + 16 <= hi ? 0xFFFFu : hi > j ? (1u << (hi - j)) - 1u : 0u;
  const unsigned above = j >= lo ? 0xFFFFu : lo - j >= 16 ? 0u : ~((1u << (lo - j)) - 1u);
  return (__mmask16)(below & above);
}

/* kt[t·Sp + j] = k[j·kvs + t] for j < S, 0 for S ≤ j < Sp: 16×16 blocks in registers where dh allows. */
__attribute__((target("avx512f"))) static void transpose_keys(const float *k, int64_t kvs, int64_t S, int64_t dh, int64_t Sp, float *kt) {
  int64_t j0 = 0;
  if (dh % 16 == 0)
    for (; j0 + 16 <= S; j0 += 16)
      for (int64_t t0 = 0; t0 < dh; t0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(k + (j0 + i) * kvs + t0);
        transpose16(r);
        for (int i = 0; i < 16; i++) _mm512_storeu_ps(kt + (t0 + i) * Sp + j0, r[i]);
      }
  for (int64_t t = 0; t < dh; t++)
    for (int64_t j = j0; j < Sp; j++) kt[t * Sp + j] = j < S ? k[j * kvs + t] : 0.0f;
}

/* Queries per tile: each load of kᵀ (16 keys) and of a v row serves this many, from 16 accumulators. */
#define ATT_ROWS 8

/*
 * One (sequence, head) of causal attention: scores s_ij = (scale·q_i)·k_j for the keys query i sees (j ≤ i, and
 * j > i − window when window > 0), softmax over them, z_i = Σ_j p_j v_j. q rows are qs apart, k and v rows kvs
 * apart, z rows zs apart (the [S, heads, dh] layouts of the projections). ATT_ROWS queries at a time over the
 * keys the tile's queries see, 32 keys a step; the per-score float operations (one fused multiply-add chain over
 * dh from 0, the 16-lane sums of the exponentials, the reciprocal) do not depend on the tile's size.
 * Scratch: kt dh × Sp, sc ATT_ROWS × (Sp + 16), qb ATT_ROWS × dh, vb S × dh rounded up to 32.
 */
__attribute__((target("avx512f"))) static void attention_head(const float *q, int64_t qs, const float *k, const float *v, int64_t kvs, int64_t S, int64_t dh,
                                                              int64_t window, float scale, float *z, int64_t zs, float *kt, float *sc, float *qb, float *vb) {
  const int64_t Sp = (S + 15) / 16 * 16, ld = Sp + 16;
  transpose_keys(k, kvs, S, dh, Sp, kt); /* so that 16 keys' scores come from dh broadcast multiply-adds */
  const int64_t dv = (dh + 31) / 32 * 32;
  for (int64_t j = 0; j < S; j++) { /* v's rows, contiguous (the projection's are a page apart at 8 heads of 32) */
    memcpy(vb + j * dv, v + j * kvs, (size_t)dh * sizeof(float));
    memset(vb + j * dv + dh, 0, (size_t)(dv - dh) * sizeof(float));
  }
  for (int64_t i0 = 0; i0 < S; i0 += ATT_ROWS) {
    const int64_t nq = S - i0 < ATT_ROWS ? S - i0 : ATT_ROWS;
    int64_t lo[ATT_ROWS], hi[ATT_ROWS];
    for (int64_t r = 0; r < ATT_ROWS; r++) {
      const int64_t i = i0 + (r < nq ? r : nq - 1); /* rows past the end repeat the last (computed, not stored) */
      lo[r] = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
      hi[r] = i + 1;
      for (int64_t t = 0; t < dh; t++) qb[r * dh + t] = q[i * qs + t] * scale; /* as tf.mul(q, scale) */
    }
    for (int64_t r = 0; r < ATT_ROWS && i0 + ATT_ROWS + r < S; r++) /* the next tile's queries, from L3 meanwhile */
      for (int64_t t = 0; t < dh; t += 16) _mm_prefetch((const char *)(q + (i0 + ATT_ROWS + r) * qs + t), _MM_HINT_T0);
    const int64_t jlo = lo[0], jhi = hi[ATT_ROWS - 1], b0 = jlo / 16 * 16;
    __m512 mx[ATT_ROWS];
#pragma GCC unroll 16
    for (int r = 0; r < ATT_ROWS; r++) mx[r] = _mm512_set1_ps(-INFINITY);
    for (int64_t j = b0; j < jhi; j += 32) {
      if (j + 16 < jhi) {
        __m512 s[ATT_ROWS][2];
#pragma GCC unroll 16
        for (int r = 0; r < ATT_ROWS; r++) s[r][0] = s[r][1] = _mm512_setzero_ps();
        for (int64_t t = 0; t < dh; t++) {
          const __m512 k0 = _mm512_loadu_ps(kt + t * Sp + j), k1 = _mm512_loadu_ps(kt + t * Sp + j + 16);
#pragma GCC unroll 16
          for (int r = 0; r < ATT_ROWS; r++) {
            const __m512 qr = _mm512_set1_ps(qb[r * dh + t]);
            s[r][0] = _mm512_fmadd_ps(qr, k0, s[r][0]);
            s[r][1] = _mm512_fmadd_ps(qr, k1, s[r][1]);
          }
        }
#pragma GCC unroll 16
        for (int r = 0; r < ATT_ROWS; r++) {
          _mm512_storeu_ps(sc + r * ld + j, s[r][0]);
          _mm512_storeu_ps(sc + r * ld + j + 16, s[r][1]);
          mx[r] = _mm512_mask_max_ps(mx[r], live_lanes(lo[r], hi[r], j), mx[r], s[r][0]);
          mx[r] = _mm512_mask_max_ps(mx[r], live_lanes(lo[r], hi[r], j + 16), mx[r], s[r][1]);
        }
      } else {
        __m512 s[ATT_ROWS];
#pragma GCC unroll 16
        for (int r = 0; r < ATT_ROWS; r++) s[r] = _mm512_setzero_ps();
        for (int64_t t = 0; t < dh; t++) {
          const __m512 k0 = _mm512_loadu_ps(kt + t * Sp + j);
#pragma GCC unroll 16
          for (int r = 0; r < ATT_ROWS; r++) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(qb[r * dh + t]), k0, s[r]);
        }
#pragma GCC unroll 16
        for (int r = 0; r < ATT_ROWS; r++) {
          _mm512_storeu_ps(sc + r * ld + j, s[r]);
          mx[r] = _mm512_mask_max_ps(mx[r], live_lanes(lo[r], hi[r], j), mx[r], s[r]);
        }
      }
    }
    float inv[ATT_ROWS];
#pragma GCC unroll 16
    for (int r = 0; r < ATT_ROWS; r++) {
      const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx[r]));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = b0; j < jhi; j += 16) {
        const __m512 e = _mm512_maskz_mov_ps(live_lanes(lo[r], hi[r], j), exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(sc + r * ld + j), m))); /* unseen keys: 0 */
        _mm512_storeu_ps(sc + r * ld + j, e);
        sum = _mm512_add_ps(sum, e);
      }
      inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    /* z = Σ p_j v_j, 32 columns of v at a time (two accumulators per query); a key a query does not see adds
     * 0·v_j, which leaves its sum as it was */
    for (int64_t c0 = 0; c0 < dh; c0 += 32) {
      const int64_t left = dh - c0;
      const __mmask16 m0 = (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
      const __mmask16 m1 = (__mmask16)(left >= 32 ? 0xFFFFu : left > 16 ? (1u << (left - 16)) - 1u : 0u);
      __m512 a[ATT_ROWS][2];
#pragma GCC unroll 16
      for (int r = 0; r < ATT_ROWS; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
      for (int64_t j = jlo; j < jhi; j++) {
        const float *vj = vb + j * dv + c0;
        const __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + 16);
#pragma GCC unroll 16
        for (int r = 0; r < ATT_ROWS; r++) {
          const __m512 pr = _mm512_set1_ps(sc[r * ld + j]);
          a[r][0] = _mm512_fmadd_ps(pr, v0, a[r][0]);
          a[r][1] = _mm512_fmadd_ps(pr, v1, a[r][1]);
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < ATT_ROWS; r++) { /* constant indices: the accumulators stay in registers */
        if (r >= nq) break;
        float *zi = z + (i0 + r) * zs + c0;
        _mm512_mask_storeu_ps(zi, m0, _mm512_mul_ps(a[r][0], _mm512_set1_ps(inv[r])));
        _mm512_mask_storeu_ps(zi + 16, m1, _mm512_mul_ps(a[r][1], _mm512_set1_ps(inv[r])));
      }
    }
  }
}

/* HF's NewGELUActivation (gelu_pytorch_tanh) as lm/components/activations.ts writes it: x·σ(2u) with
 * 2u = x·(2√(2/π) + 2√(2/π)·0.044715·x²), σ from exp of −|2u| (never overflows); out may be x. */
__attribute__((target("avx512f"))) static void gelu_new_block(const float *x, int64_t n, float *out) {
  const __m512 c1 = _mm512_set1_ps((float)(2.0 * 0.7978845608028654)), c3 = _mm512_set1_ps((float)(2.0 * 0.7978845608028654 * 0.044715));
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 u2 = _mm512_mul_ps(v, _mm512_add_ps(c1, _mm512_mul_ps(_mm512_mul_ps(v, v), c3)));
    const __m512 e = exp_nonpos(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(u2))); /* e^−|2u| */
    const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, e));                       /* σ(|2u|) */
    const __m512 sig = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u2, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(e, r), r);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(v, sig));
  }
}

int gelu_new_available(void) { return cpu_has_avx512f(); }
void gelu_new_inplace(float *x, int64_t n) { gelu_new_block(x, n, x); }

int gelu_new(const float *x, int64_t n, float *out) {
  if (!cpu_has_avx512f()) return 0;
  const int64_t C = 16384;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += C) gelu_new_block(x + i, n - i < C ? n - i : C, out + i);
  return 1;
}

int causal_attention_available(int64_t dh) { return cpu_has_avx512f() && dh >= 1 && dh <= 128; }

int causal_attention(const float *q, const float *k, const float *v, int64_t B, int64_t S, int64_t H, int64_t Kh, int64_t dh, int64_t window, float scale,
                     float *z) {
  if (!causal_attention_available(dh) || H % Kh != 0) return 0;
  const int64_t rep = H / Kh, Sp = (S + 15) / 16 * 16;
#pragma omp parallel
  {
    float *kt = (float *)malloc((size_t)(dh * Sp) * sizeof(float)), *sc = (float *)malloc((size_t)(ATT_ROWS * (Sp + 16)) * sizeof(float));
    float *qb = (float *)malloc((size_t)(ATT_ROWS * dh) * sizeof(float)), *vb = (float *)malloc((size_t)(S * ((dh + 31) / 32 * 32)) * sizeof(float));
    if (!kt || !sc || !qb || !vb) abort(); /* as a failed tfjs allocation would: there is no way to go on */
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
      const int64_t b = bh / H, h = bh % H, kh = h / rep;
      attention_head(q + (b * S * H + h) * dh, H * dh, k + (b * S * Kh + kh) * dh, v + (b * S * Kh + kh) * dh, Kh * dh, S, dh, window, scale,
                     z + (b * S * H + h) * dh, H * dh, kt, sc, qb, vb);
    }
    free(kt);
    free(sc);
    free(qb);
    free(vb);
  }
  return 1;
}
#else
int gelu_new_available(void) { return 0; }
void gelu_new_inplace(float *x, int64_t n) { (void)x, (void)n; }
int gelu_new(const float *x, int64_t n, float *out) {
  (void)x, (void)n, (void)out;
  return 0;
}
int causal_attention_available(int64_t dh) {
  (void)dh;
  return 0;
}
int causal_attention(const float *q, const float *k, const float *v, int64_t B, int64_t S, int64_t H, int64_t Kh, int64_t dh, int64_t window, float scale,
                     float *z) {
  (void)q, (void)k, (void)v, (void)B, (void)S, (void)H, (void)Kh, (void)dh, (void)window, (void)scale, (void)z;
  return 0;
}
#endif

void broadcast_rows(const float *row, int64_t n, int64_t rows, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) memcpy(out + r * n, row, (size_t)n * sizeof(float));
}

/* One row's logsumexp, portably: the C library's expf and logf (glibc's and musl's are the same algorithm). */
static float token_lse_row(const float *row, int64_t V) {
  float m = row[0];
  for (int64_t j = 1; j < V; j++) m = row[j] > m ? row[j] : m;
  // One float accumulator, in order: tfjs's Sum, so no reassociation (nor vectorised expf) here.
  float sum = 0.0f;
  for (int64_t j = 0; j < V; j++) sum += expf(row[j] - m);
  return m + logf(sum);
}

/* A row's loss from its logsumexp: tfjs's sub(lse, picked); a target outside [0, V) gives NaN. */
static inline float token_loss_from_lse(float lse, const float *row, int64_t V, int32_t t) {
  return t >= 0 && t < V ? lse - row[t] : NAN;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* expf exactly as musl (the wasm backend's libc) and glibc compute it, ARM's optimized-routines algorithm, on 8
 * lanes: x·32/ln 2 = k + r, 2^(k/32) from a table, 2^(r/32) by a cubic, in double, rounded to float once. Separate
 * products and sums as in the C source (this file is C11: no FMA contraction), so the same bits as expf. The
 * table is looked up by two two-register permutes (entries 0–15, 16–31) and a blend on bit 4 of the index, the
 * same 64-bit entries as a gather from it, in a few cycles where Zen 4's gather takes dozens. */
static const uint64_t EXPF_TAB[32] __attribute__((aligned(64))) = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa,
    0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74,
    0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

/* expf8 short of its special cases: right for x in [log(2^-150), log(2^128)]. */
__attribute__((target("avx512f"))) static inline __m256 expf8_core(__m256 x) {
  const __m512d N = _mm512_set1_pd(32.0), shift = _mm512_set1_pd(0x1.8p+52);
  const __m512d xd = _mm512_cvtps_pd(x);
  const __m512d z = _mm512_mul_pd(_mm512_set1_pd(0x1.71547652b82fep+0 * 32.0), xd);
  __m512d kd = _mm512_add_pd(z, shift);
  const __m512i ki = _mm512_castpd_si512(kd);
  kd = _mm512_sub_pd(kd, shift);
  const __m512d r = _mm512_sub_pd(z, kd);
  const __m512i *tab = (const __m512i *)EXPF_TAB;
  const __m512i lo = _mm512_permutex2var_epi64(_mm512_load_si512(tab), ki, _mm512_load_si512(tab + 1));
  const __m512i hi = _mm512_permutex2var_epi64(_mm512_load_si512(tab + 2), ki, _mm512_load_si512(tab + 3));
  __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(ki, _mm512_set1_epi64(16)), lo, hi);
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  const __m512d c0 = _mm512_div_pd(_mm512_div_pd(_mm512_div_pd(_mm512_set1_pd(0x1.c6af84b912394p-5), N), N), N);
  const __m512d c1 = _mm512_div_pd(_mm512_div_pd(_mm512_set1_pd(0x1.ebfce50fac4f3p-3), N), N);
  const __m512d c2 = _mm512_div_pd(_mm512_set1_pd(0x1.62e42ff0c52d6p-1), N);
  const __m512d zz = _mm512_add_pd(_mm512_mul_pd(c0, r), c1);
  const __m512d r2 = _mm512_mul_pd(r, r);
  __m512d y = _mm512_add_pd(_mm512_mul_pd(c2, r), _mm512_set1_pd(1.0));
  y = _mm512_add_pd(_mm512_mul_pd(zz, r2), y);
  y = _mm512_mul_pd(y, _mm512_castsi512_pd(t));
  return _mm512_cvtpd_ps(y);
}

#define EXPF_LO (-0x1.9fe368p6f) /* below: expf underflows to 0 (−∞ included) */
#define EXPF_HI 0x1.62e42ep6f    /* above: expf overflows to ∞ */

__attribute__((target("avx512f"))) static inline __m256 expf8(__m256 x) {
  __m256 out = expf8_core(x);
  // expf's special cases: 0 below log(2^-150) (−∞ included), ∞ above log(2^128), NaN as x + x.
  out = _mm256_blendv_ps(out, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(EXPF_LO), _CMP_LT_OQ));
  out = _mm256_blendv_ps(out, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(EXPF_HI), _CMP_GT_OQ));
  return _mm256_blendv_ps(out, _mm256_add_ps(x, x), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* expf(x − m) of 16 floats, in one register. The special cases are looked at only when a lane needs them: with m
 * a row's max, x − m lies in [log(2^-150), 0] for every logit within 103 of it, where they change nothing. */
__attribute__((target("avx512f"))) static inline __m512 expf16(const float *x, __m512 m) {
  const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x), m);
  const __mmask16 special = _mm512_cmp_ps_mask(d, _mm512_set1_ps(EXPF_LO), _CMP_NGE_UQ) | _mm512_cmp_ps_mask(d, _mm512_set1_ps(EXPF_HI), _CMP_GT_OQ);
  const __m256 dl = _mm512_castps512_ps256(d);
  const __m256 dh = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1));
  const __m256 lo = special ? expf8(dl) : expf8_core(dl);
  const __m256 hi = special ? expf8(dh) : expf8_core(dh);
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}

/* A row's max as token_lse_row's `row[j] > m ? row[j] : m` takes it: vmaxps(v, acc) is `v > acc ? v : acc` lane by
 * lane, so NaNs after row[0] are skipped and a NaN row[0] stays the max, as there. The order the lanes are combined
 * in cannot change the value (max of non-NaN floats), only which zero is kept when the max is ±0, and either gives
 * the same bits downstream: x − (±0) differs only for x = −0, where expf gives 1 either way, and ±0 + logf(sum)
 * rounds alike (logf(sum) = +0 gives +0). */
__attribute__((target("avx512f"))) static float row_max(const float *row, int64_t V) {
  const float first = row[0];
  if (first != first) return first;
  __m512 a0 = _mm512_set1_ps(first), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 1;
  for (; j + 64 <= V; j += 64) { /* four chains: vmaxps's latency hidden */
    a0 = _mm512_max_ps(_mm512_loadu_ps(row + j), a0);
    a1 = _mm512_max_ps(_mm512_loadu_ps(row + j + 16), a1);
    a2 = _mm512_max_ps(_mm512_loadu_ps(row + j + 32), a2);
    a3 = _mm512_max_ps(_mm512_loadu_ps(row + j + 48), a3);
  }
  for (; j + 16 <= V; j += 16) a0 = _mm512_max_ps(_mm512_loadu_ps(row + j), a0);
  float m = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3)));
  for (; j < V; j++) m = row[j] > m ? row[j] : m;
  return m;
}

/* The logsumexp of up to 16 rows at once (`n` of them; the lanes past n repeat row 0 and are dropped): each row's
 * exponentials 16 at a time, the 16 × 16 block transposed so that one vector add takes element j of every row,
 * lane r holding row r's sum: each row's additions in token_lse_row's order, the 16 chains in one. */
__attribute__((target("avx512f"))) static void token_lse_rows16(const float *const *rows, int n, int64_t V, float *lse) {
  const float *rr[16];
  float m[16] = {0}, sum[16];
  for (int r = 0; r < 16; r++) rr[r] = rows[r < n ? r : 0];
  for (int r = 0; r < n; r++) m[r] = row_max(rr[r], V);
  for (int r = n; r < 16; r++) m[r] = m[0];
  __m512 mv[16];
  for (int r = 0; r < 16; r++) mv[r] = _mm512_set1_ps(m[r]);
  __m512 s = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= V; j += 16) {
    __m512 e[16];
#pragma GCC unroll 16
    for (int r = 0; r < 16; r++) e[r] = expf16(rr[r] + j, mv[r]);
    transpose16(e);
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) s = _mm512_add_ps(s, e[k]);
  }
  _mm512_storeu_ps(sum, s);
  for (int r = 0; r < n; r++) {
    for (int64_t q = j; q < V; q++) sum[r] += expf(rr[r][q] - m[r]);
    lse[r] = m[r] + logf(sum[r]);
  }
}
#endif

void token_losses(const float *logits, const int32_t *targets, int64_t B, int64_t S, int64_t V, float *out) {
  const int64_t n = B * (S - 1);
#define TOKEN_ROW(i) (logits + (((i) / (S - 1)) * S + (i) % (S - 1)) * V)
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512f()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i += 16) {
      const int k = n - i < 16 ? (int)(n - i) : 16;
      const float *rows[16];
      float lse[16];
      for (int r = 0; r < k; r++) rows[r] = TOKEN_ROW(i + r);
      token_lse_rows16(rows, k, V, lse);
      for (int r = 0; r < k; r++) out[i + r] = token_loss_from_lse(lse[r], rows[r], V, targets[i + r]);
    }
    return;
  }
#endif
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = token_loss_from_lse(token_lse_row(TOKEN_ROW(i), V), TOKEN_ROW(i), V, targets[i]);
#undef TOKEN_ROW
}

void token_lse(const float *logits, int64_t rows, int64_t V, float *lse) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512f()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i += 16) {
      const int k = rows - i < 16 ? (int)(rows - i) : 16;
      const float *rs[16];
      for (int r = 0; r < k; r++) rs[r] = logits + (i + r) * V;
      token_lse_rows16(rs, k, V, lse + i);
    }
    return;
  }
#endif
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; i++) lse[i] = token_lse_row(logits + i * V, V);
}
