// How close the screened encoder's int8 products run to the core's limit (README, "Where a d 256 step goes"):
// the VPDPBUSD rate of independent instructions with nothing to load, then the rate of the screen's tile loop on
// its own layout — a 6-token × 64-latent tile of 24 accumulators, W_E packed in panels of 64 latents × d 256
// (1 MB for 4096 latents) streamed past blocks of 48 tokens, as native/src/topk_screen.c runs it — on one core and
// on every core at once (OpenMP). Prints one JSON object. Built and run by bench/screen-tile.sh.
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D 256
#define F 4096
#define MB 48
#define TOKENS 2048

static inline __m512i dp(__m512i acc, __m512i a, __m512i b) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

/* 12 independent accumulators: the instruction's throughput with no loads. Returns instructions per second. */
static double peak(long n) {
  __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m512i x = _mm512_set1_epi32(0x01010101), y = _mm512_set1_epi32(0x01020304);
#define DP(a) __asm__ volatile("vpdpbusd %1, %2, %0" : "+v"(a) : "v"(x), "v"(y));
  const double t = omp_get_wtime();
  for (long r = 0; r < n; r++) {
    DP(a0) DP(a1) DP(a2) DP(a3) DP(a4) DP(a5) DP(a6) DP(a7) DP(a8) DP(a9) DP(a10) DP(a11)
  }
  const double s = omp_get_wtime() - t;
#undef DP
  const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                       _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)),
                                                        _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11))));
  if (_mm512_reduce_add_epi32(sum) == 42) puts("");
  return (double)n * 12 / s;
}

static int sink;

/* One tile: Σ over d/4 quads of 6 broadcast token words × 4 vectors of 16 latents. */
__attribute__((noinline)) static void tile(const uint8_t *xb, const int8_t *panel) {
  __m512i acc[6][4];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
  for (int t = 0; t < D / 4; t++) {
    const int8_t *wt = panel + t * 256;
    const __m512i w0 = _mm512_loadu_si512(wt), w1 = _mm512_loadu_si512(wt + 64), w2 = _mm512_loadu_si512(wt + 128), w3 = _mm512_loadu_si512(wt + 192);
    for (int i = 0; i < 6; i++) {
      int32_t q;
      memcpy(&q, xb + i * D + 4 * t, sizeof q);
      const __m512i a = _mm512_set1_epi32(q);
      acc[i][0] = dp(acc[i][0], a, w0), acc[i][1] = dp(acc[i][1], a, w1), acc[i][2] = dp(acc[i][2], a, w2), acc[i][3] = dp(acc[i][3], a, w3);
    }
  }
  __m512i s = _mm512_setzero_si512();
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4; j++) s = _mm512_add_epi32(s, acc[i][j]);
  sink += _mm512_reduce_add_epi32(s);
}

/* The screen's loop order over TOKENS tokens: per block of MB tokens, every panel past the block's tiles. */
static double tiles(int reps, const int8_t *W, const uint8_t *X) {
  const double t = omp_get_wtime();
  for (int r = 0; r < reps; r++)
    for (int b0 = 0; b0 + MB <= TOKENS; b0 += MB)
      for (int p = 0; p < F / 64; p++)
        for (int q = 0; q < MB / 6; q++) tile(X + (size_t)(b0 + q * 6) * D, W + (size_t)p * D * 64);
  const double s = omp_get_wtime() - t;
  return (double)reps * (TOKENS / MB) * (F / 64) * (MB / 6) * (D / 4) * 24 / s;
}

int main(void) {
  int8_t *W = aligned_alloc(64, (size_t)F * D);
  uint8_t *X = aligned_alloc(64, (size_t)TOKENS * D);
  if (!W || !X) return 1;
  for (size_t i = 0; i < (size_t)F * D; i++) W[i] = (int8_t)(i * 7 % 255 - 127);
  for (size_t i = 0; i < (size_t)TOKENS * D; i++) X[i] = (uint8_t)(i * 13 % 255);
  const int threads = omp_get_max_threads();
  const double peak1 = peak(100000000);
  const double tile1 = tiles(5, W, X);
  double tileAll = 0;
#pragma omp parallel reduction(+ : tileAll)
  tileAll += tiles(5, W, X);
  printf("{\"benchmark\":\"screen_tile\",\"d_model\":%d,\"d_sae\":%d,\"block_tokens\":%d,\"threads\":%d,"
         "\"peak_vpdpbusd_per_s_one_core\":%.4g,\"tile_vpdpbusd_per_s_one_core\":%.4g,\"tile_vpdpbusd_per_s_per_core_all_cores\":%.4g,"
         "\"tile_ms_per_4096_tokens_all_cores\":%.2f}\n",
         D, F, MB, threads, peak1, tile1, tileAll / threads, 4096.0 / 6 * (F / 64) * (D / 4) * 24 / tileAll * 1e3);
  free(W);
  free(X);
  return sink == 42;
}
