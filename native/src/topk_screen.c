// The exact TopK of pre = x·W_E + b_E without the exact pre-activation of every latent.
//
// A TopK encoder keeps k of F latents per token, yet the dense path computes all F pre-activations in fp32, and
// that matmul is most of a CPU training step. Here every pre-activation is first computed approximately, with the
// AVX-512 BF16 dot-product instruction (about 2.4x the fp32 FMA rate on a Zen 4 core), together with a rigorous
// bound on its error; the latents whose interval can still reach the k-th largest value are then recomputed in
// fp32 and the exact top-k is taken among them. The result is the top-k of the fp32 pre-activations — the same
// latents as the dense path, values equal up to fp32 rounding — never an approximation.
//
// The bound. With x̃, w̃ the bf16 roundings (round to nearest even, |x̃ − x| ≤ 2⁻⁸|x|), VDPBF16PS forms the
// products exactly and accumulates them in fp32, so the approximate dot c satisfies
// |c − Σ xw| ≤ (2⁻⁷ + 2⁻¹⁶ + γ)·Σ|x||w|; the fp32 recomputation r − b_E is within γ·Σ|x||w| of Σ xw as well
// (γ = n·2⁻²⁴ for n additions), and Σ|x||w| ≤ ‖x‖₂‖w‖₂ (Cauchy–Schwarz). So with ε₀ = 2⁻⁷ + 2⁻¹⁶ + 2γ,
// |r − (c + b_E)| ≤ ε₀‖x‖‖w_j‖ plus the roundings of the bias additions (2⁻²³(|c| + |b_E|)) and of denormals,
// which the instruction flushes to zero (at most 2⁻¹²⁶·(|x|max + |w|max + 2) per term: `tiny`). The ends
//   lo = c + (b_E − K) − E·‖w_j‖,   hi = c + (b_E + K) + E·‖w_j‖,   E = (ε₀ + 2⁻¹⁸)‖x‖,   K = 2⁻¹⁸|b_E| + tiny
// therefore satisfy lo ≤ r ≤ hi even as computed in fp32: the 2⁻¹⁸ terms cover every rounding above and of lo
// and hi themselves (|c| ≤ 1.01‖x‖‖w‖), 16 times over. Let L be the k-th largest lower end: at least k latents
// have r ≥ L, so every latent of the exact top-k (and every latent tied with its k-th value) has hi ≥ L. Those
// are the candidates — about 2k per token on typical data.
//
// Layout and order of work. x̃ is [rows][d rounded up to even]; W_E (stored [d, F]) is packed into panels of 64
// latents as [d/2][64][2] bf16, so one 512-bit load holds 16 latents × one pair of input dimensions and a broadcast
// 32-bit pair of x̃ multiplies all 16. The microkernel keeps a 6-token × 64-latent tile in 24 registers. A thread
// takes a super-block of 384 tokens: for each block of 48 it computes the approximate rows for all latents
// (48·F floats, in L2 for F = 4096) and picks each token's candidates while the rows are hot; then it sorts the
// super-block's (token, latent) candidates by latent and recomputes them walking W_Eᵀ once, in order (each row
// serves the ~8 tokens that need it, against the x rows held in L2); then it takes each token's top-k.
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "sparse_topk.h"
#include "transpose.h"

#define MR 6      /* tokens per microkernel tile */
#define PANEL 64  /* latents per panel: 4 vectors of 16 */
#define MB_SMALL 48 /* tokens per block while the packed W_E fits in L3: its approximate rows stay in L2 */
#define SB 384       /* tokens per super-block */

static int screen_enabled = 1;

int topk_screen_available(void) {
  static int available = -1;
  if (available < 0) {
    __builtin_cpu_init();
    available = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bf16");
  }
  return available;
}

int topk_screen_set_enabled(int on) {
  const int previous = screen_enabled;
  screen_enabled = on ? 1 : 0;
  return previous;
}

int topk_screen_active(void) { return screen_enabled && topk_screen_available(); }

static inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* 16 floats → 16 bf16 (round to nearest even; zeros and denormals to zero, as the dot instruction reads them). */
TARGET static inline __m256i to_bf16(__m512 v) { return (__m256i)_mm512_cvtneps_pbh(v); }

/* The first n ≤ 16 floats of p (the rest zero). */
TARGET static inline __m512 load_n(const float *p, int64_t n) {
  return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}

/* c[r][0..64) = Σ_t x̃[r][t] w̃[t][panel] for MR rows of x̃ (row stride dp) and one panel; pairs = dp / 2. */
TARGET static void tile_6x64(const uint16_t *restrict xb, int64_t dp, const uint16_t *restrict panel, float *restrict c, int64_t ldc) {
  __m512 acc[MR][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
  const int64_t pairs = dp / 2;
  for (int64_t t = 0; t < pairs; t++) {
    const uint16_t *w = panel + t * (PANEL * 2);
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + 32);
    const __m512bh w2 = (__m512bh)_mm512_loadu_si512(w + 64), w3 = (__m512bh)_mm512_loadu_si512(w + 96);
    for (int i = 0; i < MR; i++) {
      int32_t pair;
      memcpy(&pair, xb + i * dp + 2 * t, sizeof pair);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, w0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, w1);
      acc[i][2] = _mm512_dpbf16_ps(acc[i][2], a, w2);
      acc[i][3] = _mm512_dpbf16_ps(acc[i][3], a, w3);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 4; j++) _mm512_storeu_ps(c + i * ldc + j * 16, acc[i][j]);
}

/* Floats as unsigned keys in the same order. */
TARGET static inline __m512i order_keys(__m512 v) {
  const __m512i u = _mm512_castps_si512(v), sign = _mm512_set1_epi32((int)0x80000000u);
  return _mm512_mask_xor_epi32(_mm512_or_si512(u, sign), _mm512_test_epi32_mask(u, sign), u, _mm512_set1_epi32(-1));
}

static inline float key_float(uint32_t u) {
  u = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u;
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* The largest T whose low 32 − bits bits are zero with at least k of v[0..16·nv) ≥ T (padding lanes −∞): with
 * bits = 32 the k-th largest value exactly, with fewer a lower bound on it, found in fewer probes. */
TARGET static float kth_largest(const float *v, int64_t nv, int64_t k, int bits) {
  uint32_t T = 0;
  for (int bit = 31; bit >= 32 - bits; bit--) {
    const uint32_t probe = T | (1u << bit);
    const __m512i p = _mm512_set1_epi32((int)probe);
    int64_t count = 0;
    for (int64_t i = 0; i < nv; i++) count += __builtin_popcount(_mm512_cmpge_epu32_mask(order_keys(_mm512_loadu_ps(v + 16 * i)), p));
    if (count >= k) T = probe;
  }
  return key_float(T);
}

typedef struct {
  int64_t d, Fp, k;
  int64_t chunk_groups, group_vecs; /* first pass: 16 · chunk_groups ≥ k chunks, each a lane across group_vecs vectors */
  const float *in, *WEt, *bE, *bElo, *bEhi;
  const float *A, *Bt;     /* per token: ‖δx‖ (+ slack·‖x‖) and ‖x‖, rounded up */
  const float *nwt, *ndw;  /* per latent: ‖w̃‖ and ‖δw‖, rounded up (0 for padding) */
} Screen;

typedef struct { /* per-thread scratch */
  float *cbuf;              /* block × Fp approximate rows */
  float *lo, *hi, *chunks;  /* Fp + 16 each */
  int32_t *j;               /* Fp + 16 */
  int32_t *lat, *tok, *order; float *pre; int64_t cap; /* the super-block's candidates, grown as needed */
  int64_t *start;           /* SB + 1: each token's first candidate */
  int32_t *count;           /* Fp + 1: candidates per latent, then segment starts */
} Scratch;

static void reserve(Scratch *w, int64_t need) {
  if (need <= w->cap) return;
  int64_t cap = w->cap ? w->cap : 1024;
  while (cap < need) cap *= 2;
  w->lat = (int32_t *)realloc(w->lat, (size_t)cap * sizeof(int32_t));
  w->tok = (int32_t *)realloc(w->tok, (size_t)cap * sizeof(int32_t));
  w->order = (int32_t *)realloc(w->order, (size_t)cap * sizeof(int32_t));
  w->pre = (float *)realloc(w->pre, (size_t)cap * sizeof(float));
  w->cap = cap;
}

/* Appends token b's candidates (latents with hi ≥ L, increasing) from its approximate row c[0..Fp) to w->lat at
 * position n; returns the new n. */
TARGET static int64_t candidates(const Screen *s, int64_t b, const float *restrict c, Scratch *w, int64_t n_out) {
  const int64_t nvec = s->Fp / 16, k = s->k;
  const __m512 Av = _mm512_set1_ps(s->A[b]), Bv = _mm512_set1_ps(s->Bt[b]);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const float *restrict bElo = s->bElo, *restrict bEhi = s->bEhi, *restrict nwt = s->nwt, *restrict ndw = s->ndw;
#define BND(v) _mm512_fmadd_ps(Av, _mm512_loadu_ps(nwt + 16 * (v)), _mm512_mul_ps(Bv, _mm512_loadu_ps(ndw + 16 * (v))))
#define LO(v) _mm512_sub_ps(_mm512_add_ps(_mm512_loadu_ps(c + 16 * (v)), _mm512_loadu_ps(bElo + 16 * (v))), BND(v))
#define HI(v) _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(c + 16 * (v)), _mm512_loadu_ps(bEhi + 16 * (v))), BND(v))
  /* 1. T0 ≤ L (the k-th largest lower end): a lower bound on the k-th largest of ≥ k chunk maxima of the lower
   *    ends, the chunks being disjoint sets of latents — so at least k latents have a lower end ≥ T0. */
  for (int64_t g = 0; g < s->chunk_groups; g++) {
    const int64_t v1 = g + 1 == s->chunk_groups ? nvec : (g + 1) * s->group_vecs;
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int64_t v = g * s->group_vecs; v < v1; v++) m = _mm512_max_ps(m, LO(v));
    _mm512_storeu_ps(w->chunks + 16 * g, m);
  }
  const __m512 t0 = _mm512_set1_ps(kth_largest(w->chunks, s->chunk_groups, k, 16));
  /* 2. The latents whose upper end reaches T0 (a superset of the candidates, as L ≥ T0), with both ends. */
  int64_t n = 0;
  for (int64_t v = 0; v < nvec; v++) {
    const __m512 hiv = HI(v);
    const __mmask16 m = _mm512_cmp_ps_mask(hiv, t0, _CMP_GE_OQ);
    if (!m) continue;
    _mm512_storeu_ps(w->lo + n, _mm512_maskz_compress_ps(m, LO(v)));
    _mm512_storeu_ps(w->hi + n, _mm512_maskz_compress_ps(m, hiv));
    _mm512_storeu_si512(w->j + n, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32((int)(16 * v)))));
    n += __builtin_popcount(m);
  }
#undef BND
#undef LO
#undef HI
  /* 3. L (to within 2⁻⁸ of its magnitude, from below), and the candidates: hi ≥ L. */
  const int64_t nv = (n + 15) / 16;
  for (int64_t q = n; q < 16 * nv; q++) w->lo[q] = -INFINITY, w->hi[q] = -INFINITY;
  const __m512 L = _mm512_set1_ps(kth_largest(w->lo, nv, k, 16));
  reserve(w, n_out + n + 16);
  for (int64_t i = 0; i < nv; i++) {
    const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(w->hi + 16 * i), L, _CMP_GE_OQ);
    _mm512_storeu_si512(w->lat + n_out, _mm512_maskz_compress_epi32(m, _mm512_loadu_si512(w->j + 16 * i)));
    n_out += __builtin_popcount(m);
  }
  return n_out;
}

/* pre = x·w + bias for up to four candidates of one latent (w = its row of W_Eᵀ, loaded once for all four). */
TARGET static void recompute(Scratch *w, int64_t q, int64_t m, const float *in, const float *restrict wrow, float bias, int64_t d) {
  const float *x[4];
  int32_t c[4];
  for (int64_t r = 0; r < 4; r++) {
    c[r] = w->order[q + (r < m ? r : 0)];
    x[r] = in + (int64_t)w->tok[c[r]] * d;
  }
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  for (int64_t t = 0; t < d; t += 16) {
    const int64_t n = d - t;
    const __m512 wv = load_n(wrow + t, n);
    a0 = _mm512_fmadd_ps(load_n(x[0] + t, n), wv, a0);
    a1 = _mm512_fmadd_ps(load_n(x[1] + t, n), wv, a1);
    a2 = _mm512_fmadd_ps(load_n(x[2] + t, n), wv, a2);
    a3 = _mm512_fmadd_ps(load_n(x[3] + t, n), wv, a3);
  }
  const float r4[4] = {_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3)};
  for (int64_t r = 0; r < m; r++) w->pre[c[r]] = r4[r] + bias;
}

/* The exact top-k of one token's candidates pre[0..n) (n ≥ k; latents lat, increasing): the values above the k-th
 * largest V, then those equal to V by increasing latent — ties to the lower latent, as tf.topk's. tmp: n + 16. */
TARGET static void take_topk(const float *restrict pre, const int32_t *restrict lat, int64_t n, int64_t k, float *restrict tmp, float *restrict values,
                             int32_t *restrict indices) {
  const int64_t nv = (n + 15) / 16;
  memcpy(tmp, pre, (size_t)n * sizeof(float));
  for (int64_t q = n; q < 16 * nv; q++) tmp[q] = -INFINITY;
  const float V = kth_largest(tmp, nv, k, 32);
  int64_t out = 0;
  for (int64_t q = 0; q < n; q++)
    if (pre[q] > V) values[out] = pre[q], indices[out++] = lat[q];
  for (int64_t q = 0; q < n && out < k; q++)
    if (pre[q] == V) values[out] = pre[q], indices[out++] = lat[q];
}

/* Σ of the squares of 16 floats, added in double into two 8-lane accumulators. */
TARGET static inline void add_squares(__m512 v, __m512d *lo, __m512d *hi) {
  const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  *lo = _mm512_fmadd_pd(a, a, *lo);
  *hi = _mm512_fmadd_pd(b, b, *hi);
}

/* bf16 → fp32 (exact). */
TARGET static inline __m512 from_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

static const double UP = 1.0 + 0x1p-20; /* rounding norms up: covers the double sums and the cast to float */

/* x̃ [Bp, dp] in bf16 (zero-padded) and, per token, A = ‖δx‖ + slack·‖x‖ and Bt = ‖x‖ (δx = x − x̃), rounded
 * up; the largest |x|; 0 when some x is not finite. The differences x − x̃ are exact (Sterbenz). */
TARGET static int pack_x(const float *in, int64_t B, int64_t Bp, int64_t d, int64_t dp, double slack, uint16_t *xb, float *A, float *Bt, double *maxx_out) {
  double maxx = 0.0;
  int finite = 1;
#pragma omp parallel for schedule(static) reduction(max : maxx) reduction(&& : finite)
  for (int64_t b = 0; b < Bp; b++) {
    __m512d x2a = _mm512_setzero_pd(), x2b = _mm512_setzero_pd(), e2a = _mm512_setzero_pd(), e2b = _mm512_setzero_pd();
    __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < dp; i += 16) {
      const __m512 v = b < B && i < d ? load_n(in + b * d + i, d - i) : _mm512_setzero_ps();
      const __m256i h = to_bf16(v);
      const int64_t n = dp - i < 16 ? dp - i : 16;
      _mm256_mask_storeu_epi16(xb + b * dp + i, (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u), h);
      add_squares(v, &x2a, &x2b);
      add_squares(_mm512_sub_ps(v, from_bf16(h)), &e2a, &e2b);
      m = _mm512_max_ps(m, _mm512_abs_ps(v));
    }
    if (b >= B) continue;
    const double x2 = _mm512_reduce_add_pd(_mm512_add_pd(x2a, x2b)), e2 = _mm512_reduce_add_pd(_mm512_add_pd(e2a, e2b));
    if (!isfinite(x2)) finite = 0;
    const double nx = sqrt(x2) * UP;
    A[b] = (float)(sqrt(e2) * UP + slack * nx * UP);
    Bt[b] = (float)(nx * UP);
    const double mb = _mm512_reduce_max_ps(m);
    if (mb > maxx) maxx = mb;
  }
  *maxx_out = maxx;
  return finite;
}

/* The panels of W_E [P][dp/2][64][2] in bf16 (zero-padded) and, per latent, ‖w̃‖ and ‖δw‖ rounded up (0 for the
 * padding); the largest |w|; 0 when some weight is not finite. */
TARGET static int pack_w(const float *W_E, int64_t d, int64_t dp, int64_t F, int64_t P, uint16_t *wp, float *nwt, float *ndw, double *maxw_out) {
  double maxw = 0.0;
  int finite = 1;
#pragma omp parallel for schedule(static) reduction(max : maxw) reduction(&& : finite)
  for (int64_t p = 0; p < P; p++) {
    uint16_t *panel = wp + p * dp * PANEL;
    __m512d t2[8], e2[8]; /* 64 latents × (‖w̃‖², ‖δw‖²) in double */
    for (int u = 0; u < 8; u++) t2[u] = e2[u] = _mm512_setzero_pd();
    __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < dp; i += 2)
      for (int64_t l = 0; l < PANEL; l += 16) {
        const int64_t j = p * PANEL + l, n = F - j < 16 ? (F - j > 0 ? F - j : 0) : 16;
        const __m512 r0 = n > 0 && i < d ? load_n(W_E + i * F + j, n) : _mm512_setzero_ps();
        const __m512 r1 = n > 0 && i + 1 < d ? load_n(W_E + (i + 1) * F + j, n) : _mm512_setzero_ps();
        const __m256i h0 = to_bf16(r0), h1 = to_bf16(r1);
        /* pairs (w[i][j], w[i+1][j]) as 32-bit lanes, the even dimension in the low half */
        _mm512_storeu_si512(panel + (i / 2) * (PANEL * 2) + l * 2, _mm512_or_si512(_mm512_cvtepu16_epi32(h0), _mm512_slli_epi32(_mm512_cvtepu16_epi32(h1), 16)));
        const __m512 b0 = from_bf16(h0), b1 = from_bf16(h1);
        add_squares(b0, &t2[l / 8], &t2[l / 8 + 1]);
        add_squares(b1, &t2[l / 8], &t2[l / 8 + 1]);
        add_squares(_mm512_sub_ps(r0, b0), &e2[l / 8], &e2[l / 8 + 1]);
        add_squares(_mm512_sub_ps(r1, b1), &e2[l / 8], &e2[l / 8 + 1]);
        m = _mm512_max_ps(m, _mm512_max_ps(_mm512_abs_ps(r0), _mm512_abs_ps(r1)));
      }
    double tv[64], ev[64];
    for (int u = 0; u < 8; u++) {
      _mm512_storeu_pd(tv + 8 * u, t2[u]);
      _mm512_storeu_pd(ev + 8 * u, e2[u]);
    }
    for (int64_t l = 0; l < PANEL; l++) {
      if (!isfinite(tv[l]) || !isfinite(ev[l])) finite = 0;
      const int64_t j = p * PANEL + l;
      nwt[j] = j < F ? (float)(sqrt(tv[l]) * UP) : 0.0f;
      ndw[j] = j < F ? (float)(sqrt(ev[l]) * UP) : 0.0f;
    }
    const double mp = _mm512_reduce_max_ps(m);
    if (mp > maxw) maxw = mp;
  }
  *maxw_out = maxw;
  return finite;
}

int topk_screen_encode(const float *in, const float *W_E, const float *b_E, int64_t B, int64_t d, int64_t F, int64_t k, float *values,
                       int32_t *indices) {
  if (!topk_screen_active() || k < 1 || k >= F || d > 65536 || B < 1) return 0;
  const int64_t dp = round_up(d, 2), Fp = round_up(F, PANEL), Bp = round_up(B, MR), P = Fp / PANEL, nvec = Fp / 16;

  static _Thread_local ScratchBuf b_A, b_Bt, b_nwt, b_ndw, b_xb, b_wp, b_WEt, b_lo, b_hi;
  float *A = (float *)scratch_get(&b_A, (size_t)B * sizeof(float));
  float *Bt = (float *)scratch_get(&b_Bt, (size_t)B * sizeof(float));
  float *nwt = (float *)scratch_get(&b_nwt, (size_t)Fp * sizeof(float));
  float *ndw = (float *)scratch_get(&b_ndw, (size_t)Fp * sizeof(float));
  uint16_t *xb = (uint16_t *)scratch_get(&b_xb, (size_t)(Bp * dp) * sizeof(uint16_t));
  uint16_t *wp = (uint16_t *)scratch_get(&b_wp, (size_t)(Fp * dp) * sizeof(uint16_t));
  /* slack per ‖x‖‖w̃‖: both accumulations (γ each, with ‖x̃‖, ‖w‖ ≤ (1 + 2⁻⁷) times ‖x‖, ‖w̃‖) and 2⁻¹⁸ for the
   * roundings of the bias additions and of lo and hi themselves (|c| ≤ 1.01‖x‖‖w̃‖). */
  const double slack = (2.0 * (double)(dp + 2) * 0x1p-24 * (1.0 + 0x1p-7) + 0x1p-18) * 1.01;
  double maxx, maxw;
  if (!pack_x(in, B, Bp, d, dp, slack, xb, A, Bt, &maxx) || !pack_w(W_E, d, dp, F, P, wp, nwt, ndw, &maxw) || maxx * maxw * (double)d > 1e37) return 0;
  float *WEt = (float *)scratch_get(&b_WEt, (size_t)(F * d) * sizeof(float));
  float *bElo = (float *)scratch_get(&b_lo, (size_t)Fp * sizeof(float));
  float *bEhi = (float *)scratch_get(&b_hi, (size_t)Fp * sizeof(float));
  transpose_f32(W_E, d, F, WEt);
  /* products and sums the dot instruction flushes to zero: at most 2⁻¹²⁶ per term, against |x|, |w| */
  const float tiny = (float)(2.0 * (double)(dp + 1) * 0x1p-126 * (maxx + maxw + 2.0));
  for (int64_t j = 0; j < Fp; j++) {
    const float K = j < F ? 0x1p-18f * fabsf(b_E[j]) + tiny : 0.0f;
    bElo[j] = j < F ? b_E[j] - K : -INFINITY; /* padding latents: never candidates */
    bEhi[j] = j < F ? b_E[j] + K : -INFINITY;
  }

  Screen s = {.d = d, .Fp = Fp, .k = k, .in = in, .WEt = WEt, .bE = b_E, .bElo = bElo, .bEhi = bEhi, .A = A, .Bt = Bt, .nwt = nwt, .ndw = ndw};
  /* ≥ 16 groups (256 chunks) where there are vectors enough, and always ≥ k chunks: Fp is a multiple of 64 and > k. */
  s.chunk_groups = (k + 15) / 16 > 16 ? (k + 15) / 16 : 16;
  if (s.chunk_groups > nvec) s.chunk_groups = nvec;
  s.group_vecs = nvec / s.chunk_groups;

  /* Tokens per block: every block streams all of the packed W_E. While that fits in L3 (d 256, F 4096: 2 MB) small
   * blocks keep their approximate rows in L2; a larger W_E (d 768, F 24576: 38 MB) comes from memory, so blocks
   * grow until their rows take ~12 MB (d 768: 3.2 GB of W_E reads per 4096 tokens at 48, 1 GB at 120). */
  int64_t MB = MB_SMALL;
  if (Fp * dp * (int64_t)sizeof(uint16_t) > ((int64_t)8 << 20)) {
    MB = ((int64_t)12 << 20) / (Fp * (int64_t)sizeof(float)) / MR * MR;
    MB = MB < MB_SMALL ? MB_SMALL : MB > SB ? SB : MB;
  }
#pragma omp parallel
  {
    /* per-thread scratch, kept between calls (the candidate arrays grow as needed and stay) */
    static _Thread_local ScratchBuf c_cbuf, c_lo, c_hi, c_chunks, c_j, c_start, c_count;
    static _Thread_local Scratch keep;
    const size_t cap = (size_t)(Fp + 16);
    Scratch w = keep;
    w.cbuf = (float *)scratch_get(&c_cbuf, (size_t)(MB * Fp) * sizeof(float));
    w.lo = (float *)scratch_get(&c_lo, cap * sizeof(float));
    w.hi = (float *)scratch_get(&c_hi, cap * sizeof(float));
    w.chunks = (float *)scratch_get(&c_chunks, cap * sizeof(float));
    w.j = (int32_t *)scratch_get(&c_j, cap * sizeof(int32_t));
    w.start = (int64_t *)scratch_get(&c_start, (SB + 1) * sizeof(int64_t));
    w.count = (int32_t *)scratch_get(&c_count, (size_t)(Fp + 1) * sizeof(int32_t));
    /* An equal share of the tokens per thread (a multiple of MR), in super-blocks of whole blocks (≤ SB tokens). */
    const int64_t SBe = SB / MB * MB;
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num(), tiles_all = (B + MR - 1) / MR;
    const int64_t t0 = tiles_all * t / threads * MR, t1 = t + 1 == threads ? B : tiles_all * (t + 1) / threads * MR;
    for (int64_t s0 = t0; s0 < t1; s0 += SBe) {
      const int64_t s1 = t1 - s0 < SBe ? t1 : s0 + SBe;
      /* Each token's candidates, block by block while its approximate rows are in cache. */
      int64_t n = 0;
      for (int64_t b0 = s0; b0 < s1; b0 += MB) {
        const int64_t rows = s1 - b0 < MB ? s1 - b0 : MB, tiles = (rows + MR - 1) / MR;
        for (int64_t p = 0; p < P; p++)
          for (int64_t r = 0; r < tiles; r++) tile_6x64(xb + (b0 + r * MR) * dp, dp, wp + p * dp * PANEL, w.cbuf + r * MR * Fp + p * PANEL, Fp);
        for (int64_t r = 0; r < rows; r++) {
          w.start[b0 + r - s0] = n;
          n = candidates(&s, b0 + r, w.cbuf + r * Fp, &w, n);
          for (int64_t q = w.start[b0 + r - s0]; q < n; q++) w.tok[q] = (int32_t)(b0 + r);
        }
      }
      w.start[s1 - s0] = n;
      /* Sorted by latent (counting sort), the candidates are recomputed walking W_Eᵀ once. */
      memset(w.count, 0, (size_t)(Fp + 1) * sizeof(int32_t));
      for (int64_t q = 0; q < n; q++) w.count[w.lat[q] + 1]++;
      for (int64_t j = 0; j < Fp; j++) w.count[j + 1] += w.count[j];
      for (int64_t q = 0; q < n; q++) w.order[w.count[w.lat[q]]++] = (int32_t)q;
      for (int64_t j = 0, q = 0; j < F; j++) { /* count[j] is now the end of latent j's segment */
        if (j + 2 < F) { /* W_Eᵀ streams through once per super-block: non-temporal, so it does not evict the x rows */
          const char *ahead = (const char *)(WEt + (j + 2) * d);
          for (int64_t o = 0; o < d * (int64_t)sizeof(float); o += 64) _mm_prefetch(ahead + o, _MM_HINT_NTA);
        }
        while (q < w.count[j]) {
          const int64_t m = w.count[j] - q < 4 ? w.count[j] - q : 4;
          recompute(&w, q, m, in, WEt + j * d, b_E[j], d);
          q += m;
        }
      }
      for (int64_t b = s0; b < s1; b++) {
        const int64_t q0 = w.start[b - s0], q1 = w.start[b - s0 + 1];
        take_topk(w.pre + q0, w.lat + q0, q1 - q0, k, w.lo, values + b * k, indices + b * k);
      }
    }
    keep.lat = w.lat, keep.tok = w.tok, keep.order = w.order, keep.pre = w.pre, keep.cap = w.cap;
  }
  return 1;
}
