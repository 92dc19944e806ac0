/* Sorted TopK along the last axis, as tfjs-backend-wasm's kernel (tfjs-backend-wasm/src/cc/kernels/TopK.cc)
 * defines it: per row, a Floyd–Rivest select of the first k of the (value, index) pairs, then std::sort of them,
 * both by `value == other.value ? index < other.index : value > other.value`. Without NaNs that is a strict total
 * order (indices differ), so any exact selection gives its output: here one scan per row keeping the best k in a sorted buffer, the rows in parallel. With a NaN
 * the comparator is no ordering at all and the result is whatever that select and sort do, so such rows are refused
 * and the caller runs tfjs's kernel. Values equal as floats (−0 and +0) tie as there and keep their own bits. */
#include <stdlib.h>

#include "cpu.h"
#include "row_topk.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* Column j (value v) into the buffer of the best `*len` so far (sorted by the order above; *len < k or v beats
 * the last): placed after every value >= v, since every index in the buffer is smaller than j. */
static inline void insert(float *bv, int32_t *bi, int64_t *len, int64_t k, float v, int32_t j) {
  int64_t p = *len < k ? *len : k - 1;
  while (p > 0 && bv[p - 1] < v) {
    bv[p] = bv[p - 1];
    bi[p] = bi[p - 1];
    p--;
  }
  bv[p] = v;
  bi[p] = j;
  if (*len < k) (*len)++;
}

/* Whether row had no NaN; its top k into bv/bi. A column enters only when its value beats the k-th best so far
 * (strictly: on a tie the earlier index ranks first), so after the first k columns most are one compare. */
static int topk_row_scalar(const float *row, int64_t n, int64_t k, float *bv, int32_t *bi) {
  int64_t len = 0;
  int nan = 0;
  for (int64_t j = 0; j < n; j++) {
    const float v = row[j];
    nan |= v != v;
    if (len < k || v > bv[k - 1]) insert(bv, bi, &len, k, v, (int32_t)j);
  }
  return !nan;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* topk_row_scalar 16 columns at a time: one compare against the k-th best gives the (few) columns to insert. */
__attribute__((target("avx512f"))) static int topk_row_avx512(const float *row, int64_t n, int64_t k, float *bv, int32_t *bi) {
  int64_t len = 0, j = 0;
  int nan = 0;
  for (; j < n && len < k; j++) {
    nan |= row[j] != row[j];
    insert(bv, bi, &len, k, row[j], (int32_t)j);
  }
  __mmask16 unordered = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(row + j);
    unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    __mmask16 hit = _mm512_cmp_ps_mask(v, _mm512_set1_ps(bv[k - 1]), _CMP_GT_OQ);
    while (hit) {
      const int q = __builtin_ctz(hit);
      hit &= (__mmask16)(hit - 1);
      if (row[j + q] > bv[k - 1]) insert(bv, bi, &len, k, row[j + q], (int32_t)(j + q)); /* the bar rose meanwhile */
    }
  }
  for (; j < n; j++) {
    nan |= row[j] != row[j];
    if (row[j] > bv[k - 1]) insert(bv, bi, &len, k, row[j], (int32_t)j);
  }
  return !nan && !unordered;
}
#endif

int row_topk(const float *x, int64_t rows, int64_t n, int64_t k, float *values, int32_t *indices) {
  int ok = 1;
  const int vec = cpu_has_avx512f();
  (void)vec;
  /* A row of the dictionary's [rows, 4096] takes ~1 µs: threads only for more than a few hundred of them. */
#pragma omp parallel for schedule(static) reduction(&& : ok) if (rows * n >= (int64_t)1 << 20)
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * n;
    float *bv = values + r * k;
    int32_t *bi = indices + r * k;
#if defined(__x86_64__) && defined(__GNUC__)
    if (vec) {
      ok = topk_row_avx512(row, n, k, bv, bi) && ok;
      continue;
    }
#endif
    ok = topk_row_scalar(row, n, k, bv, bi) && ok;
  }
  return ok;
}
