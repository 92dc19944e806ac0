/* (value, index) pairs packed into one unsigned key ordered like "larger value, then lower index": the float's
 * order-preserving bits above, the complement of the index below. Ties then go to the lower index, as tf.topk's
 * do, at the cost of one integer comparison. Shared by the exact and the screened top-k encoders. */
#ifndef SAE_TOPK_KEYS_H
#define SAE_TOPK_KEYS_H
#include <stdint.h>
#include <string.h>

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
#endif
