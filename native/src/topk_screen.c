// The exact TopK of pre = x·W_E + b_E without the exact pre-activation of every latent.
//
// A TopK encoder keeps k of F latents per token, yet the dense path computes all F pre-activations in fp32, and
// that matmul is most of a CPU training step. Here every pre-activation is first computed approximately, in 8-bit
// integers with the AVX-512 VNNI dot-product instruction (64 multiply-adds per instruction: about 4.5x the fp32
// FMA rate on a Zen 4 core, twice its bf16 one), together with a rigorous bound on its error; the latents whose
// interval can still reach the k-th largest value are then recomputed in fp32 and the exact top-k is taken among
// them. The result is the top-k of the fp32 pre-activations — the same latents as the dense path, values equal up
// to fp32 rounding — never an approximation.
//
// The approximation. Each token's x (= in − shift) is scaled by sx = max|x|/127 and rounded, qx = round(x/sx) in
// [−127, 127]; each latent's column w of W_E likewise by sw = max|w|/127 (scales no smaller than 2⁻⁶⁰). With
// x̃ = sx·qx, w̃ = sw·qw, the integer Σ qx·qw is exact (VPDPBUSD multiplies u8 by s8: qx is stored as qx + 128 and
// the accumulator starts at −128·Σqw; |sums| < 2³¹ for d ≤ 8192), and c = float(Σ qx·qw)·fl(sx·sw) is x̃·w̃ to
// 2.1·2⁻²⁴ relative. The scales are not powers of two: x̃ is not computed in floats, only its residual
// δx = x − sx·qx, in double (sx·qx is exact there).
//
// The bound. x̃·w̃ − x·w = −δx·w̃ − x·δw exactly, so |x̃·w̃ − x·w| ≤ ‖δx‖‖w̃_j‖ + ‖x‖‖δw_j‖ (Cauchy–Schwarz, with
// the actual residuals, computed per token and per latent in the packing passes). The fp32 recomputation r of
// x·w + b_E errs by at most γ·Σ|x||w| ≤ γ‖x‖(‖w̃‖ + ‖δw‖) plus a rounding of the bias addition (γ = 2(d + 2)·2⁻²⁴,
// twice the usual n·u). Since |x̃ᵢ| ≤ 2|xᵢ| (qᵢ = 0 or |xᵢ| ≥ sx/2), |c| ≤ 2.01‖x‖‖w̃‖, so every error that scales
// with c or r is a multiple of ‖x‖‖w̃‖, and those that scale with ‖δw‖ are covered by rounding ‖δw‖ up by
// (1 + γ + 2⁻²²). With
//   bnd = A·‖w̃_j‖ + ‖x‖·‖δw_j‖,   A = ‖δx‖ + slack·‖x‖,   slack = 2.1·(γ + 2⁻²² + 2⁻¹⁸),   K = 2⁻¹⁸|b_E| + tiny
//   lo = fl(fl(c·s + (b_E − K)) − bnd),   hi = fl(fl(c·s + (b_E + K)) + bnd)      (c·s in one fused multiply-add)
// the ends satisfy lo ≤ r ≤ hi even as computed in fp32: the 2⁻¹⁸ terms cover the roundings of the bias additions
// and of lo and hi themselves (each ≤ 2⁻²³ of |c| + |b_E| + bnd) many times over, `tiny` what gradual underflow
// can lose, and every norm is rounded up. Let L be the k-th largest lower end: at least k latents have r ≥ L, so
// every latent of the exact top-k (and every latent tied with its k-th value) has hi ≥ L. Those are the
// candidates — on random data about 3k per token at d 256 / F 4096 / k 32, 12k at d 768 / F 24576 (bf16 gave
// 1.4k and 1.9k: its residuals are 6× smaller, but its products run at half the rate). bench/step-real.ts counts
// the latents this version recomputes per token at d 256 / F 4096 / k 32: about 100 on random data, 170–215 on the
// demo's activations with its dictionary in and after training (its k-th values lie among many close ones).
//
// Layout and order of work. qx + 128 is [rows][d rounded up to 4] bytes; W_E (stored [d, F]) is packed into panels
// of 64 latents as [d/4][64][4] s8, so one 512-bit load holds 16 latents × four input dimensions and a broadcast
// 32-bit word of x multiplies all 16. The microkernel keeps a 6-token × 64-latent tile in 24 registers and, with
// the tile still there, compares each upper end with the token's running bound T (a lower bound on L): the
// latents that reach it join the token's list with both ends, and a list that grows to `next` entries is pruned
// to those with hi ≥ the k-th largest lower end in it, which raises T; the token's next prune comes once its list
// has doubled. The first prune, with T still −∞ and every latent joining, comes at `first` entries: twice the
// previous call's mean candidates per token (so that T is soon near L; the longest list set it before, and on the
// demo's activations a few tokens with 500–800 candidates made every token's list take 2.4k entries before its
// first prune: 2.6x the pruning of random data). `next` never passes the trigger, learned per shape: twice the
// longest list a prune left in the previous call (shrinking by a quarter at most per call), so that a prune frees
// half the list. No approximate row is written out. Each thread takes an equal share of the tokens in super-blocks
// of 384: per block, all panels stream past the block's tiles; each token's final list, cut at L, gives its
// candidates; the super-block's (token, latent) candidates are sorted by latent and recomputed walking W_Eᵀ once,
// in order, against the x rows held in L2; then each token takes its top-k. A token whose latents are too close to
// prune (near-ties, a row of zeros) makes every latent a candidate: slower, still exact (and the next call's
// trigger is doubled).
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "sparse_topk.h"
#include "transpose16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MR 6      /* tokens per microkernel tile */
#define PANEL 64  /* latents per panel: 4 vectors of 16 */
#define MB_SMALL 48 /* tokens per block while the packed W_E fits in L3 */
#define SB 384       /* tokens per super-block */

static int screen_enabled = 1;

/* Counters over this thread's calls since its last topk_screen_stats (benchmarks read them): calls, tokens,
 * candidates recomputed, tokens that gave up screening, prunes in the tiles, and the last call's trigger. */
static _Thread_local int64_t stats[6];

void topk_screen_stats(int64_t out[6]) {
  memcpy(out, stats, sizeof stats);
  memset(stats, 0, sizeof stats);
}

int topk_screen_available(void) {
  static int available = -1;
  if (available < 0) {
    __builtin_cpu_init();
    available = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
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

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* acc += Σ of the four u8·s8 products in each 32-bit lane of a and b (VPDPBUSD). In asm: GCC 12 does not tie the
 * intrinsic's accumulator to its result and copies all 24 of a tile's accumulators through memory every step. */
TARGET static inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

/* The first n ≤ 16 floats of p (the rest zero). */
TARGET static inline __m512 load_n(const float *p, int64_t n) {
  return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}

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

/* keys[0..16·nv) = the order-preserving keys of v[0..n) (see order_keys), the padding 0: below every probe. */
TARGET static void to_keys(const float *v, int64_t n, int64_t nv, uint32_t *keys) {
  for (int64_t i = 0; i < nv; i++) {
    const int64_t m = n - 16 * i < 16 ? n - 16 * i : 16;
    const __mmask16 live = (__mmask16)(m >= 16 ? 0xFFFFu : (1u << m) - 1u);
    _mm512_storeu_si512(keys + 16 * i, _mm512_maskz_mov_epi32(live, order_keys(_mm512_maskz_loadu_ps(live, v + 16 * i))));
  }
}

/* T with its bits from `bit` down to bit 32 − bits decided greedily, highest first, each set where at least k of
 * keys[0..16·nv) are ≥ the result (each probe one compare per vector: the keys are made once, not per probe). */
TARGET static uint32_t probe_bits(const uint32_t *keys, int64_t nv, int64_t k, int bits, uint32_t T, int bit) {
  for (; bit >= 32 - bits; bit--) {
    const uint32_t probe = T | (1u << bit);
    const __m512i p = _mm512_set1_epi32((int)probe);
    int64_t count = 0;
    for (int64_t i = 0; i < nv; i++) count += __builtin_popcount(_mm512_cmpge_epu32_mask(_mm512_loadu_si512(keys + 16 * i), p));
    if (count >= k) T = probe;
  }
  return T;
}

/* The largest T whose low 32 − bits bits are zero with at least k of keys[0..16·nv) ≥ T: with bits = 32 the k-th
 * largest value exactly, with fewer a lower bound on it, found in fewer probes. */
TARGET static float kth_largest(const uint32_t *keys, int64_t nv, int64_t k, int bits) { return key_float(probe_bits(keys, nv, k, bits, 0u, 31)); }

/* As kth_largest, given a key `floor` with at least k keys ≥ it: the bits the answer shares with both the floor and
 * the largest key are known, so only the bits below them are probed (after a first prune, a handful instead of 16). */
TARGET static float kth_largest_from(const uint32_t *keys, int64_t nv, int64_t k, int bits, uint32_t floor) {
  __m512i mx = _mm512_setzero_si512();
  for (int64_t i = 0; i < nv; i++) mx = _mm512_max_epu32(mx, _mm512_loadu_si512(keys + 16 * i));
  const uint32_t M = (uint32_t)_mm512_reduce_max_epu32(mx), low = (1u << (32 - bits)) - 1u, a = floor & ~low, diff = a ^ (M & ~low);
  if (M < a) return kth_largest(keys, nv, k, bits); /* not a floor after all: no shortcut */
  const int hb = diff == 0 ? 32 - bits - 1 : 31 - __builtin_clz(diff);
  return key_float(probe_bits(keys, nv, k, bits, hb == 31 ? 0u : a & ~((2u << hb) - 1u), hb));
}

/* order_keys for one float. */
static inline uint32_t key_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

typedef struct {
  int64_t k;
  int64_t trigger, cap; /* a token's running list is pruned once it holds `trigger` entries at most; room for `cap` */
  int64_t first;        /* entries at a token's first prune */
  const float *bElo, *bEhi;
  const float *A, *Bt;     /* per token: ‖δx‖ (+ slack·‖x‖) and ‖x‖, rounded up */
  const float *nwt, *ndw;  /* per latent: ‖w̃‖ and ‖δw‖·(1 + γ), rounded up (0 for padding) */
  const float *sx, *sw;    /* the scales: x̃ = sx·qx per token, w̃ = sw·qw per latent */
  const int32_t *ncs;      /* per latent: −128·Σ qw (the u8 offset of qx taken back) */
} Screen;

typedef struct { /* per-thread scratch */
  float *lo, *hi;           /* block × cap: each token's running list of (lower end, upper end, latent) */
  int32_t *j;
  float *T;                 /* block: each token's lower bound on L so far */
  int32_t *n;               /* block: entries in each token's list */
  int32_t *next;            /* block: the count at which each token's list is pruned next (≤ trigger) */
  uint32_t *keys;           /* max(Fp, cap) + 16: a list's or a token's candidates' keys */
  /* the super-block's candidates (latent, token), grown as needed; sorted by latent: their indices and, beside them,
   * their tokens (the recomputation finds its x rows without going through the index) */
  int32_t *lat, *tok, *order, *stok; float *pre; int64_t cap;
  int64_t *start;           /* SB + 1: each token's first candidate */
  int32_t *count;           /* Fp + 1: candidates per latent, then segment starts */
  int32_t most;             /* the longest list a prune left in this call */
  int64_t prunes, cands, gave_up_tokens; /* for topk_screen_stats */
  int gave_up;              /* whether some token's list could not be pruned below the trigger */
} Scratch;

static void reserve(Scratch *w, int64_t need) {
  if (need <= w->cap) return;
  int64_t cap = w->cap ? w->cap : 1024;
  while (cap < need) cap *= 2;
  w->lat = (int32_t *)realloc(w->lat, (size_t)cap * sizeof(int32_t));
  w->tok = (int32_t *)realloc(w->tok, (size_t)cap * sizeof(int32_t));
  w->order = (int32_t *)realloc(w->order, (size_t)cap * sizeof(int32_t));
  w->stok = (int32_t *)realloc(w->stok, (size_t)cap * sizeof(int32_t));
  w->pre = (float *)realloc(w->pre, (size_t)cap * sizeof(float));
  if (!w->lat || !w->tok || !w->order || !w->stok || !w->pre) abort(); /* as scratch_get: no way to go on */
  w->cap = cap;
}

/* Drops the entries of a token's list (lo, hi, j; n of them, n ≥ k) whose upper end is below the k-th largest
 * lower end (found to 16 bits, from below: a lower bound on L, as these are k distinct latents); returns the new
 * count and raises *T to that bound. The survivors keep their (increasing latent) order. */
TARGET static int32_t prune(float *restrict lo, float *restrict hi, int32_t *restrict j, int32_t n, int64_t k, int bits, float *T, uint32_t *restrict keys) {
  const int64_t nv = (n + 15) / 16;
  for (int64_t q = n; q < 16 * nv; q++) lo[q] = -INFINITY, hi[q] = -INFINITY;
  to_keys(lo, n, nv, keys);
  const float t = kth_largest_from(keys, nv, k, bits, key_of(*T));
  if (t > *T) *T = t;
  const __m512 tv = _mm512_set1_ps(*T);
  int32_t out = 0;
  for (int64_t i = 0; i < nv; i++) { /* in place: out never passes 16·i */
    const __m512 h = _mm512_loadu_ps(hi + 16 * i);
    const __mmask16 m = _mm512_cmp_ps_mask(h, tv, _CMP_GE_OQ);
    const __m512 l = _mm512_loadu_ps(lo + 16 * i);
    const __m512i x = _mm512_loadu_si512(j + 16 * i);
    _mm512_storeu_ps(lo + out, _mm512_maskz_compress_ps(m, l)); /* whole vectors: [out, out + 16) was read already */
    _mm512_storeu_ps(hi + out, _mm512_maskz_compress_ps(m, h));
    _mm512_storeu_si512(j + out, _mm512_maskz_compress_epi32(m, x));
    out += __builtin_popcount(m);
  }
  return out;
}

/*
 * Σ_t qx[r][t]·qw[t][panel] for MR tokens (rows of qx + 128, stride dp; the first `rows` real) and panel p
 * (dp / 4 words of four dimensions), kept in registers and scaled to c·s on the way out: each token's upper ends
 * hi are compared with its running bound T at once, and the latents that reach it join the token's list with both
 * ends; a list that reaches `trigger` entries is pruned, which raises T. No approximate row is ever written out.
 */
TARGET static void tile_6x64(const Screen *s, const uint8_t *restrict xb, int64_t dp, const int8_t *restrict panel, int64_t p, int64_t tok0,
                             int64_t rows, Scratch *w, int64_t slot0) {
  const int64_t v0 = 4 * p;
  __m512i acc[MR][4];
  for (int j = 0; j < 4; j++) {
    const __m512i c = _mm512_loadu_si512(s->ncs + 16 * (v0 + j));
    for (int i = 0; i < MR; i++) acc[i][j] = c;
  }
  const int64_t quads = dp / 4;
  for (int64_t t = 0; t < quads; t++) {
    const int8_t *wt = panel + t * (PANEL * 4);
    const __m512i w0 = _mm512_loadu_si512(wt), w1 = _mm512_loadu_si512(wt + 64), w2 = _mm512_loadu_si512(wt + 128), w3 = _mm512_loadu_si512(wt + 192);
    for (int i = 0; i < MR; i++) {
      int32_t quad;
      memcpy(&quad, xb + i * dp + 4 * t, sizeof quad);
      const __m512i a = _mm512_set1_epi32(quad);
      acc[i][0] = dpbusd(acc[i][0], a, w0);
      acc[i][1] = dpbusd(acc[i][1], a, w1);
      acc[i][2] = dpbusd(acc[i][2], a, w2);
      acc[i][3] = dpbusd(acc[i][3], a, w3);
    }
  }
  /* The sums leave the registers once, here: the epilogue below indexes them by a run-time token count, and an
   * array so indexed inside the loop above would be kept in memory (GCC then stores every accumulator per step). */
  __m512i sums[MR][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 4; j++) sums[i][j] = acc[i][j];
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512 lo_c[4], hi_c[4], nwt[4], ndw[4], sw[4];
  for (int j = 0; j < 4; j++) {
    sw[j] = _mm512_loadu_ps(s->sw + 16 * (v0 + j));
    lo_c[j] = _mm512_loadu_ps(s->bElo + 16 * (v0 + j));
    hi_c[j] = _mm512_loadu_ps(s->bEhi + 16 * (v0 + j));
    nwt[j] = _mm512_loadu_ps(s->nwt + 16 * (v0 + j));
    ndw[j] = _mm512_loadu_ps(s->ndw + 16 * (v0 + j));
  }
  for (int64_t i = 0; i < rows && i < MR; i++) {
    const int64_t slot = slot0 + i;
    const __m512 Av = _mm512_set1_ps(s->A[tok0 + i]), Bv = _mm512_set1_ps(s->Bt[tok0 + i]), Tv = _mm512_set1_ps(w->T[slot]);
    const __m512 sxv = _mm512_set1_ps(s->sx[tok0 + i]);
    float *lo = w->lo + slot * s->cap, *hi = w->hi + slot * s->cap;
    int32_t *jj = w->j + slot * s->cap;
    int32_t n = w->n[slot];
    if (n < 0) continue; /* this token takes every latent as a candidate (see below) */
    for (int j = 0; j < 4; j++) {
      const __m512 bnd = _mm512_fmadd_ps(Av, nwt[j], _mm512_mul_ps(Bv, ndw[j]));
      const __m512 c = _mm512_cvtepi32_ps(sums[i][j]), scale = _mm512_mul_ps(sxv, sw[j]);
      const __m512 h = _mm512_add_ps(_mm512_fmadd_ps(c, scale, hi_c[j]), bnd);
      /* Stored whether or not any lane reaches T (the list has room for it): a branch here mispredicts often and
       * each miss throws away the next tile's products already in flight — 2–3 ms of a 30 ms call. */
      const __mmask16 m = _mm512_cmp_ps_mask(h, Tv, _CMP_GE_OQ);
      const __m512 l = _mm512_sub_ps(_mm512_fmadd_ps(c, scale, lo_c[j]), bnd);
      _mm512_storeu_ps(lo + n, _mm512_maskz_compress_ps(m, l));
      _mm512_storeu_ps(hi + n, _mm512_maskz_compress_ps(m, h));
      _mm512_storeu_si512(jj + n, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32((int)(16 * (v0 + j))))));
      n += __builtin_popcount(m);
    }
    if (n >= w->next[slot]) {
      n = prune(lo, hi, jj, n, s->k, 16, &w->T[slot], w->keys);
      w->prunes++;
      if (n > w->most) w->most = n;
      /* So many latents within the bound of one another (near-ties, a row of zeros) that pruning cannot make
       * room: the token gives up screening and every latent becomes a candidate, recomputed exactly. */
      if (n >= s->trigger) n = -1, w->gave_up = 1;
      /* the next prune once the list has doubled (at least `first` entries, at most the trigger) */
      const int64_t next = 2 * (int64_t)n + 64 > s->first ? 2 * (int64_t)n + 64 : s->first;
      w->next[slot] = (int32_t)(next < s->trigger ? next : s->trigger);
    }
    w->n[slot] = n;
  }
}

/* pre = x·w + bias for up to four candidates of one latent (w = its row of W_Eᵀ, loaded once for all four; x the
 * rows of xs, the super-block's inputs already shifted, row 0 being token s0). */
TARGET static void recompute(Scratch *w, int64_t q, int64_t m, const float *xs, int64_t s0, const float *restrict wrow, float bias, int64_t d) {
  const float *x[4];
  int32_t c[4];
  for (int64_t r = 0; r < 4; r++) {
    c[r] = w->order[q + (r < m ? r : 0)];
    x[r] = xs + ((int64_t)w->stok[q + (r < m ? r : 0)] - s0) * d;
  }
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  const int64_t full = d / 16 * 16;
  for (int64_t t = 0; t < full; t += 16) {
    const __m512 wv = _mm512_loadu_ps(wrow + t);
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x[0] + t), wv, a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x[1] + t), wv, a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x[2] + t), wv, a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x[3] + t), wv, a3);
  }
  if (full < d) { /* the last d − full dimensions (the rest of the lanes zero) */
    const int64_t n = d - full;
    const __m512 wv = load_n(wrow + full, n);
    a0 = _mm512_fmadd_ps(load_n(x[0] + full, n), wv, a0);
    a1 = _mm512_fmadd_ps(load_n(x[1] + full, n), wv, a1);
    a2 = _mm512_fmadd_ps(load_n(x[2] + full, n), wv, a2);
    a3 = _mm512_fmadd_ps(load_n(x[3] + full, n), wv, a3);
  }
  const float r4[4] = {_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3)};
  for (int64_t r = 0; r < m; r++) w->pre[c[r]] = r4[r] + bias;
}

/* The exact top-k of one token's candidates pre[0..n) (n ≥ k; latents lat, increasing): the values above the k-th
 * largest V, then those equal to V by increasing latent — ties to the lower latent, as tf.topk's. keys: n + 16. */
TARGET static void take_topk(const float *restrict pre, const int32_t *restrict lat, int64_t n, int64_t k, uint32_t *restrict keys, float *restrict values,
                             int32_t *restrict indices) {
  const int64_t nv = (n + 15) / 16;
  to_keys(pre, n, nv, keys);
  float V;
  if (nv <= 4) {
    /* Few candidates (the usual case): the k-th largest is the largest key with at least k keys at or above it,
     * each key's count taken by independent compares rather than a chain of 32 dependent probes. */
    __m512i K[4];
    for (int64_t i = 0; i < 4; i++) K[i] = i < nv ? _mm512_loadu_si512(keys + 16 * i) : _mm512_setzero_si512();
    uint32_t best = 0;
    for (int64_t q = 0; q < n; q++) {
      const __m512i b = _mm512_set1_epi32((int)keys[q]);
      int ge = 0;
      for (int64_t i = 0; i < nv; i++) ge += __builtin_popcount(_mm512_cmpge_epu32_mask(K[i], b));
      best = ge >= k && keys[q] > best ? keys[q] : best;
    }
    V = key_float(best);
  } else {
    V = kth_largest(keys, nv, k, 32);
  }
  /* the values above V, in latent order (compressed, no branch per candidate), then those equal to V */
  const __m512 Vv = _mm512_set1_ps(V);
  int64_t out = 0;
  for (int64_t i = 0; i < nv; i++) {
    const int64_t m = n - 16 * i < 16 ? n - 16 * i : 16;
    const __mmask16 live = (__mmask16)(m >= 16 ? 0xFFFF : (1u << m) - 1u);
    const __m512 p = _mm512_maskz_loadu_ps(live, pre + 16 * i);
    const __mmask16 gt = _mm512_mask_cmp_ps_mask(live, p, Vv, _CMP_GT_OQ);
    const int c = __builtin_popcount(gt);
    _mm512_mask_storeu_ps(values + out, (__mmask16)((1u << c) - 1u), _mm512_maskz_compress_ps(gt, p));
    _mm512_mask_storeu_epi32(indices + out, (__mmask16)((1u << c) - 1u), _mm512_maskz_compress_epi32(gt, _mm512_maskz_loadu_epi32(live, lat + 16 * i)));
    out += c;
  }
  for (int64_t q = 0; q < n && out < k; q++)
    if (pre[q] == V) values[out] = pre[q], indices[out++] = lat[q];
}

/* Σ of the squares of 16 floats, added in double into two 8-lane accumulators. */
TARGET static inline void add_squares(__m512 v, __m512d *lo, __m512d *hi) {
  const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  *lo = _mm512_fmadd_pd(a, a, *lo);
  *hi = _mm512_fmadd_pd(b, b, *hi);
}

/* Σ (v − s·q)² over 16 lanes (a scale per lane), in double (s·q is exact there: 24 by 8 bits), into two 8-lane
 * accumulators. */
TARGET static inline void add_residual_squares(__m512 v, __m512i q, __m512 s, __m512d *lo, __m512d *hi) {
  const __m512d v0 = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), v1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  const __m512d s0 = _mm512_cvtps_pd(_mm512_castps512_ps256(s)), s1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(s, 1));
  const __m512d q0 = _mm512_cvtepi32_pd(_mm512_castsi512_si256(q)), q1 = _mm512_cvtepi32_pd(_mm512_extracti32x8_epi32(q, 1));
  const __m512d e0 = _mm512_fnmadd_pd(s0, q0, v0), e1 = _mm512_fnmadd_pd(s1, q1, v1);
  *lo = _mm512_fmadd_pd(e0, e0, *lo);
  *hi = _mm512_fmadd_pd(e1, e1, *hi);
}

/* round(v·r) clamped to [−127, 127]. */
TARGET static inline __m512i quantize(__m512 v, __m512 r) {
  const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, r));
  return _mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
}

static const double UP = 1.0 + 0x1p-20; /* rounding norms up: covers the double sums and the cast to float */
static const float SCALE_MIN = 0x1p-60f; /* scales no smaller: their products stay normal floats */

/* With x = in − shift (shift may be NULL), per token: the scale sx = max|x|/127, x̃ = sx·qx with qx = round(x/sx)
 * stored as qx + 128 in u8 [Bp, dp] (padding: 128, i.e. 0), A = ‖δx‖ + slack·‖x‖ and Bt = ‖x‖ (δx = x − x̃), rounded
 * up; the largest |x|. Returns 0 when some x is not finite. */
TARGET static int pack_x(const float *in, const float *shift, int64_t B, int64_t Bp, int64_t d, int64_t dp, double slack, uint8_t *xb, float *A, float *Bt,
                         float *sx, double *maxx_out) {
  double maxx = 0.0;
  int finite = 1;
#pragma omp parallel for schedule(static) reduction(max : maxx) reduction(&& : finite)
  for (int64_t b = 0; b < Bp; b++) {
    if (b >= B) {
      memset(xb + b * dp, 128, (size_t)dp);
      continue;
    }
    const float *row = in + b * d;
    __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < d; i += 16) {
      __m512 v = load_n(row + i, d - i);
      if (shift) v = _mm512_sub_ps(v, load_n(shift + i, d - i));
      m = _mm512_max_ps(m, _mm512_abs_ps(v));
    }
    const float mx = _mm512_reduce_max_ps(m), s = fmaxf(mx / 127.0f, SCALE_MIN);
    const __m512 r = _mm512_set1_ps(1.0f / s), sv = _mm512_set1_ps(s);
    __m512d x2a = _mm512_setzero_pd(), x2b = _mm512_setzero_pd(), e2a = _mm512_setzero_pd(), e2b = _mm512_setzero_pd();
    for (int64_t i = 0; i < dp; i += 16) {
      __m512 v = i < d ? load_n(row + i, d - i) : _mm512_setzero_ps();
      if (shift && i < d) v = _mm512_sub_ps(v, load_n(shift + i, d - i));
      const __m512i q = quantize(v, r);
      const int64_t n = dp - i < 16 ? dp - i : 16;
      _mm_mask_storeu_epi8(xb + b * dp + i, (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u), _mm512_cvtepi32_epi8(_mm512_add_epi32(q, _mm512_set1_epi32(128))));
      add_squares(v, &x2a, &x2b);
      add_residual_squares(v, q, sv, &e2a, &e2b);
    }
    const double x2 = _mm512_reduce_add_pd(_mm512_add_pd(x2a, x2b)), e2 = _mm512_reduce_add_pd(_mm512_add_pd(e2a, e2b));
    if (!isfinite(x2) || !isfinite(e2)) finite = 0;
    const double nx = sqrt(x2) * UP;
    A[b] = (float)(sqrt(e2) * UP + slack * nx * UP);
    Bt[b] = (float)(nx * UP);
    sx[b] = s;
    if (mx > maxx) maxx = mx;
  }
  *maxx_out = maxx;
  return finite;
}

/* Two passes over W_E [d, F], row blocks of 16 split between the threads (each reads 16 rows front to back, which
 * the prefetchers follow): the largest |w| of each latent, whose /127 is its scale sw; then the panels
 * [P][dp/4][64][4] of qw = round(w/sw) in s8 (zero-padded), W_Eᵀ [F, d] in fp32 (for the recomputation), and per
 * latent ‖w̃‖ and ‖δw‖·(1 + γ) rounded up and −128·Σqw (0 for the padding); the largest |w|. Sums are taken per
 * thread and then across threads in thread order. Returns 0 when some weight is not finite. part: threads × 3Fp doubles,
 * colmax: threads × Fp floats. */
TARGET static int pack_w(const float *W_E, int64_t d, int64_t dp, int64_t F, int64_t Fp, double gamma, int8_t *wp, float *WEt, float *nwt, float *ndw, float *sw,
                         int32_t *ncs, double *part, float *colmax, double *maxw_out) {
  int threads = 1;
#pragma omp parallel
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num(), blocks = (dp + 15) / 16;
    if (t == 0) threads = (int)T;
    float *cm = colmax + t * Fp;
    for (int64_t j0 = 0; j0 < Fp; j0 += 16) _mm512_storeu_ps(cm + j0, _mm512_setzero_ps());
    for (int64_t i = 16 * (blocks * t / T); i < 16 * (blocks * (t + 1) / T) && i < d; i++)
      for (int64_t j0 = 0; j0 < F; j0 += 16) _mm512_storeu_ps(cm + j0, _mm512_max_ps(_mm512_loadu_ps(cm + j0), _mm512_abs_ps(load_n(W_E + i * F + j0, F - j0))));
#pragma omp barrier
    for (int64_t j = Fp * t / T; j < Fp * (t + 1) / T; j++) { /* each thread its share of the latents */
      float m = 0.0f;
      for (int64_t u = 0; u < T; u++) m = fmaxf(m, colmax[u * Fp + j]);
      colmax[j] = m; /* row 0 now holds the maxima (each thread read its own row 0 entries before the barrier) */
      sw[j] = fmaxf(m / 127.0f, SCALE_MIN);
    }
#pragma omp barrier
    double *q2 = part + t * 3 * Fp, *e2 = q2 + Fp, *cs = e2 + Fp;
    memset(q2, 0, (size_t)(3 * Fp) * sizeof(double));
    for (int64_t rb = blocks * t / T; rb < blocks * (t + 1) / T; rb++) {
      const int64_t i0 = 16 * rb, nr = d - i0 < 16 ? d - i0 : 16; /* rows i0..i0+nr real, the rest zero */
      for (int64_t j0 = 0; j0 < Fp; j0 += 16) {
        const int64_t n = F - j0 < 16 ? (F - j0 > 0 ? F - j0 : 0) : 16;
        __m512 r[16];
        for (int64_t i = 0; i < 16; i++) r[i] = i < nr && n > 0 ? load_n(W_E + (i0 + i) * F + j0, n) : _mm512_setzero_ps();
        const __m512 s = _mm512_loadu_ps(sw + j0), rc = _mm512_div_ps(_mm512_set1_ps(1.0f), s);
        __m512i qq = _mm512_setzero_si512(), qs = _mm512_setzero_si512();
        __m512d ea = _mm512_setzero_pd(), eb = _mm512_setzero_pd();
        int8_t *panel = wp + (j0 / PANEL) * dp * PANEL + (j0 % PANEL) * 4;
        for (int64_t g = 0; g < 4 && i0 + 4 * g < dp; g++) {
          __m512i word = _mm512_setzero_si512();
          for (int64_t u = 0; u < 4; u++) {
            const __m512 v = r[4 * g + u];
            const __m512i q = quantize(v, rc);
            word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(q, _mm512_set1_epi32(255)), (unsigned)(8 * u)));
            qq = _mm512_add_epi32(qq, _mm512_mullo_epi32(q, q));
            qs = _mm512_add_epi32(qs, q);
            add_residual_squares(v, q, s, &ea, &eb);
          }
          /* 16 latents × 4 input dimensions, the lowest dimension in the low byte */
          _mm512_storeu_si512(panel + (i0 / 4 + g) * (PANEL * 4), word);
        }
        _mm512_storeu_pd(q2 + j0, _mm512_add_pd(_mm512_loadu_pd(q2 + j0), _mm512_cvtepi32_pd(_mm512_castsi512_si256(qq))));
        _mm512_storeu_pd(q2 + j0 + 8, _mm512_add_pd(_mm512_loadu_pd(q2 + j0 + 8), _mm512_cvtepi32_pd(_mm512_extracti32x8_epi32(qq, 1))));
        _mm512_storeu_pd(cs + j0, _mm512_add_pd(_mm512_loadu_pd(cs + j0), _mm512_cvtepi32_pd(_mm512_castsi512_si256(qs))));
        _mm512_storeu_pd(cs + j0 + 8, _mm512_add_pd(_mm512_loadu_pd(cs + j0 + 8), _mm512_cvtepi32_pd(_mm512_extracti32x8_epi32(qs, 1))));
        _mm512_storeu_pd(e2 + j0, _mm512_add_pd(_mm512_loadu_pd(e2 + j0), ea));
        _mm512_storeu_pd(e2 + j0 + 8, _mm512_add_pd(_mm512_loadu_pd(e2 + j0 + 8), eb));
        if (n == 16 && nr == 16) {
          transpose16(r);
          for (int64_t l = 0; l < 16; l++) _mm512_storeu_ps(WEt + (j0 + l) * d + i0, r[l]);
        } else {
          for (int64_t l = 0; l < n; l++)
            for (int64_t i = 0; i < nr; i++) WEt[(j0 + l) * d + i0 + i] = W_E[(i0 + i) * F + j0 + l];
        }
      }
    }
  }
  int finite = 1;
  double maxw = 0.0;
  for (int64_t j = 0; j < Fp; j++) {
    double qv = 0.0, ev = 0.0, cv = 0.0;
    for (int t = 0; t < threads; t++) qv += part[t * 3 * Fp + j], ev += part[t * 3 * Fp + Fp + j], cv += part[t * 3 * Fp + 2 * Fp + j];
    if (!isfinite(ev) || !isfinite(colmax[j])) finite = 0;
    if (colmax[j] > maxw) maxw = colmax[j];
    nwt[j] = j < F ? (float)((double)sw[j] * sqrt(qv) * UP) : 0.0f;
    ndw[j] = j < F ? (float)(sqrt(ev) * UP * (1.0 + gamma)) : 0.0f; /* (1 + γ): the recomputation's error on x·δw */
    ncs[j] = j < F ? (int32_t)(-128.0 * cv) : 0;
  }
  *maxw_out = maxw;
  return finite;
}

int topk_screen_encode(const float *in, const float *shift, const float *W_E, const float *b_E, int64_t B, int64_t d, int64_t F, int64_t k, float *values,
                       int32_t *indices) {
  if (!topk_screen_active() || k < 1 || k >= F || d > 8192 || B < 1) return 0;
  const int64_t dp = round_up(d, 4), Fp = round_up(F, PANEL), Bp = round_up(B, MR), P = Fp / PANEL;

  static _Thread_local ScratchBuf b_A, b_Bt, b_sx, b_nwt, b_ndw, b_sw, b_ncs, b_xb, b_wp, b_WEt, b_lo, b_hi, b_part, b_colmax;
  float *A = (float *)scratch_get(&b_A, (size_t)B * sizeof(float));
  float *Bt = (float *)scratch_get(&b_Bt, (size_t)B * sizeof(float));
  float *sx = (float *)scratch_get(&b_sx, (size_t)B * sizeof(float));
  float *nwt = (float *)scratch_get(&b_nwt, (size_t)Fp * sizeof(float));
  float *ndw = (float *)scratch_get(&b_ndw, (size_t)Fp * sizeof(float));
  float *sw = (float *)scratch_get(&b_sw, (size_t)Fp * sizeof(float));
  int32_t *ncs = (int32_t *)scratch_get(&b_ncs, (size_t)Fp * sizeof(int32_t));
  uint8_t *xb = (uint8_t *)scratch_get(&b_xb, (size_t)(Bp * dp));
  int8_t *wp = (int8_t *)scratch_get(&b_wp, (size_t)(Fp * dp));
  /* per ‖x‖‖w̃‖ (|c| ≤ 2.01‖x‖‖w̃‖): the recomputation's accumulation (γ) and bias addition, the conversions and
   * the scale's product in c (2.1·2⁻²⁴ of |c|), and 2⁻¹⁸ for the roundings of the bias additions and of lo and hi */
  const double gamma = 2.0 * (double)(dp + 2) * 0x1p-24 + 0x1p-22, slack = (gamma + 0x1p-18) * 2.1;
  float *WEt = (float *)scratch_get(&b_WEt, (size_t)(F * d) * sizeof(float));
  double *part = (double *)scratch_get(&b_part, (size_t)(omp_get_max_threads() * 3 * Fp) * sizeof(double));
  float *colmax = (float *)scratch_get(&b_colmax, (size_t)(omp_get_max_threads() * Fp) * sizeof(float));
  double maxx, maxw;
  if (!pack_x(in, shift, B, Bp, d, dp, slack, xb, A, Bt, sx, &maxx) || !pack_w(W_E, d, dp, F, Fp, gamma, wp, WEt, nwt, ndw, sw, ncs, part, colmax, &maxw) ||
      maxx * maxw * (double)d > 1e37)
    return 0;
  float *bElo = (float *)scratch_get(&b_lo, (size_t)Fp * sizeof(float));
  float *bEhi = (float *)scratch_get(&b_hi, (size_t)Fp * sizeof(float));
  /* what gradual underflow can lose: in the scale's product and its fused use (≤ 2⁻¹⁵⁰·(|Σqx·qw| + 1)), and per
   * operation of the recomputation */
  const float tiny = (float)(((double)dp * 16385.0 + 8.0) * 0x1p-148);
  for (int64_t j = 0; j < Fp; j++) {
    const float K = j < F ? 0x1p-18f * fabsf(b_E[j]) + tiny : 0.0f;
    bElo[j] = j < F ? b_E[j] - K : -INFINITY; /* padding latents: never candidates */
    bEhi[j] = j < F ? b_E[j] + K : -INFINITY;
  }

  Screen s = {.k = k, .bElo = bElo, .bEhi = bEhi, .A = A, .Bt = Bt, .nwt = nwt, .ndw = ndw, .sx = sx, .sw = sw, .ncs = ncs};
  /* Tokens per block: every block streams all of the packed W_E past its tiles. While it is small (d 256,
   * F 4096: 1 MB) small blocks keep their running lists in L1/L2; a larger W_E (d 768, F 24576: 19 MB, more than
   * the L3 holds beside everything else) would come from memory, so a block is a whole super-block (11 passes over
   * W_E per 4096 tokens instead of 85). */
  const int64_t MB = Fp * dp > ((int64_t)8 << 20) ? SB : MB_SMALL;

  /* A token's list is pruned at `trigger` entries, at least 2k + 64 (a tile adds at most 64 more, and its last store
   * of 16 lanes starts at most 48 past the count it found, below trigger + 64 + 16); never fewer than k at a prune.
   * The lists of a block take at most 64 MB per thread: past that, a token that cannot be pruned below the trigger
   * gives up screening instead (near-ties on a large dictionary). */
  static _Thread_local int64_t learned_F = -1, learned_k = -1, learned_trigger, learned_first;
  if (learned_F != F || learned_k != k) learned_F = F, learned_k = k, learned_trigger = learned_first = k + F / 16 + 64;
  const int64_t room = (((int64_t)64 << 20) / (MB * 12) - PANEL - 16) / 16 * 16;
  int64_t trigger = round_up(learned_trigger, 16);
  if (trigger > room) trigger = room;
  s.trigger = trigger > 2 * k + 64 ? trigger : 2 * k + 64;
  s.cap = s.trigger + PANEL + 16;
  s.first = learned_first < s.trigger ? learned_first : s.trigger;
  if (s.first < 2 * k + 64) s.first = 2 * k + 64;
  int32_t most = 0;
  int gave_up = 0;
  int64_t cands = 0, gave_up_tokens = 0, prunes = 0;
#pragma omp parallel
  {
    /* per-thread scratch, kept between calls (the candidate arrays grow as needed and stay) */
    static _Thread_local ScratchBuf c_lo, c_hi, c_j, c_T, c_n, c_next, c_keys, c_start, c_count, c_xs;
    static _Thread_local Scratch keep;
    Scratch w = keep;
    w.most = 0, w.gave_up = 0, w.prunes = 0, w.cands = 0, w.gave_up_tokens = 0;
    w.lo = (float *)scratch_get(&c_lo, (size_t)(MB * s.cap) * sizeof(float));
    w.hi = (float *)scratch_get(&c_hi, (size_t)(MB * s.cap) * sizeof(float));
    w.j = (int32_t *)scratch_get(&c_j, (size_t)(MB * s.cap) * sizeof(int32_t));
    w.T = (float *)scratch_get(&c_T, (size_t)MB * sizeof(float));
    w.n = (int32_t *)scratch_get(&c_n, (size_t)MB * sizeof(int32_t));
    w.next = (int32_t *)scratch_get(&c_next, (size_t)MB * sizeof(int32_t));
    w.keys = (uint32_t *)scratch_get(&c_keys, (size_t)((Fp > s.cap ? Fp : s.cap) + 16) * sizeof(uint32_t));
    w.start = (int64_t *)scratch_get(&c_start, (SB + 1) * sizeof(int64_t));
    w.count = (int32_t *)scratch_get(&c_count, (size_t)(Fp + 1) * sizeof(int32_t));
    /* An equal share of the tokens per thread (a multiple of MR), in super-blocks of whole blocks (≤ SB tokens). */
    const int64_t SBe = SB / MB * MB;
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num(), tiles_all = (B + MR - 1) / MR;
    const int64_t t0 = tiles_all * t / threads * MR, t1 = t + 1 == threads ? B : tiles_all * (t + 1) / threads * MR;
    for (int64_t s0 = t0; s0 < t1; s0 += SBe) {
      const int64_t s1 = t1 - s0 < SBe ? t1 : s0 + SBe;
      /* Each token's candidates, block by block: the tiles stream its approximate pre-activations past running
       * bounds; then the final L (to 16 bits, from below) leaves the latents with hi ≥ L. */
      int64_t n = 0;
      for (int64_t b0 = s0; b0 < s1; b0 += MB) {
        const int64_t rows = s1 - b0 < MB ? s1 - b0 : MB, tiles = (rows + MR - 1) / MR;
        for (int64_t r = 0; r < rows; r++) w.T[r] = -FLT_MAX, w.n[r] = 0, w.next[r] = (int32_t)s.first; /* not −∞: the padding's hi is −∞ */
        for (int64_t p = 0; p < P; p++)
          for (int64_t r = 0; r < tiles; r++) tile_6x64(&s, xb + (b0 + r * MR) * dp, dp, wp + p * dp * PANEL, p, b0 + r * MR, rows - r * MR, &w, r * MR);
        for (int64_t r = 0; r < rows; r++) {
          float *lo = w.lo + r * s.cap, *hi = w.hi + r * s.cap;
          int32_t *jj = w.j + r * s.cap;
          w.start[b0 + r - s0] = n;
          if (w.n[r] < 0) {
            reserve(&w, n + F);
            for (int64_t q = 0; q < F; q++) w.lat[n + q] = (int32_t)q;
            for (int64_t q = 0; q < F; q++) w.tok[n + q] = (int32_t)(b0 + r);
            n += F;
            w.gave_up_tokens++;
            continue;
          }
          const int32_t m = prune(lo, hi, jj, w.n[r], k, 16, &w.T[r], w.keys);
          if (m > w.most) w.most = m;
          reserve(&w, n + m);
          memcpy(w.lat + n, jj, (size_t)m * sizeof(int32_t));
          for (int32_t q = 0; q < m; q++) w.tok[n + q] = (int32_t)(b0 + r);
          n += m;
        }
      }
      w.start[s1 - s0] = n;
      w.cands += n;
      /* Sorted by latent (counting sort), the candidates are recomputed walking W_Eᵀ once. */
      memset(w.count, 0, (size_t)(Fp + 1) * sizeof(int32_t));
      for (int64_t q = 0; q < n; q++) w.count[w.lat[q] + 1]++;
      for (int64_t j = 0; j < Fp; j++) w.count[j + 1] += w.count[j];
      for (int64_t q = 0; q < n; q++) {
        const int32_t at = w.count[w.lat[q]]++;
        w.order[at] = (int32_t)q, w.stok[at] = w.tok[q];
      }
      /* The super-block's rows, shifted once here (the same fl(x − shift) the recomputation took per candidate):
       * 1 KB per token at d 256, in L2 for the walk below. Without a shift they are the input's rows themselves. */
      const float *xs = in + s0 * d;
      if (shift) {
        float *buf = (float *)scratch_get(&c_xs, (size_t)(SB * d) * sizeof(float));
        for (int64_t b = s0; b < s1; b++)
          for (int64_t i = 0; i < d; i++) buf[(b - s0) * d + i] = in[b * d + i] - shift[i];
        xs = buf;
      }
      for (int64_t j = 0, q = 0; j < F; j++) { /* count[j] is now the end of latent j's segment */
        if (j + 2 < F) { /* W_Eᵀ streams through once per super-block: non-temporal, so it does not evict the x rows */
          const char *ahead = (const char *)(WEt + (j + 2) * d);
          for (int64_t o = 0; o < d * (int64_t)sizeof(float); o += 64) _mm_prefetch(ahead + o, _MM_HINT_NTA);
        }
        while (q < w.count[j]) {
          const int64_t m = w.count[j] - q < 4 ? w.count[j] - q : 4;
          recompute(&w, q, m, xs, s0, WEt + j * d, b_E[j], d);
          q += m;
        }
      }
      for (int64_t b = s0; b < s1; b++) {
        const int64_t q0 = w.start[b - s0], q1 = w.start[b - s0 + 1];
        take_topk(w.pre + q0, w.lat + q0, q1 - q0, k, w.keys, values + b * k, indices + b * k);
      }
    }
    keep.lat = w.lat, keep.tok = w.tok, keep.order = w.order, keep.stok = w.stok, keep.pre = w.pre, keep.cap = w.cap;
#pragma omp critical
    {
      if (w.most > most) most = w.most;
      gave_up |= w.gave_up;
      cands += w.cands, gave_up_tokens += w.gave_up_tokens, prunes += w.prunes;
    }
  }
  /* The next call's trigger: twice the longest list a prune left, so that a prune frees at least half the list; it
   * shrinks by a quarter at most per call (one batch of short lists does not set up the next for give-ups), and
   * doubles after a give-up. */
  stats[0]++, stats[1] += B, stats[2] += cands, stats[3] += gave_up_tokens, stats[4] += prunes, stats[5] = s.trigger;
  learned_trigger = 2 * (int64_t)most + 64;
  if (learned_trigger < s.trigger * 3 / 4) learned_trigger = s.trigger * 3 / 4;
  if (gave_up && learned_trigger < 2 * s.trigger) learned_trigger = 2 * s.trigger;
  if (learned_trigger > Fp + 16) learned_trigger = Fp + 16; /* a list never holds more than Fp entries */
  learned_first = 2 * cands / B + 64;
  return 1;
}

#else /* not x86-64: no screen; the sgemm path runs */
int topk_screen_available(void) { return 0; }
int topk_screen_set_enabled(int on) { (void)on; return 0; }
int topk_screen_active(void) { return 0; }
void topk_screen_stats(int64_t out[6]) { memset(out, 0, 6 * sizeof(int64_t)); }
int topk_screen_encode(const float *in, const float *shift, const float *W_E, const float *b_E, int64_t B, int64_t d, int64_t F, int64_t k, float *values,
                       int32_t *indices) {
  (void)in, (void)shift, (void)W_E, (void)b_E, (void)B, (void)d, (void)F, (void)k, (void)values, (void)indices;
  return 0;
}
#endif
