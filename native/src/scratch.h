/* Scratch buffers kept between calls, one set per calling thread (the JS thread, each OpenMP worker): a step's
 * temporaries are megabytes, and a fresh malloc of that size is a fresh mmap whose pages fault in on every call
 * (~1 ms per 4 MB here). They grow to the largest size asked for and are released when the thread ends. */
#ifndef SAE_SCRATCH_H
#define SAE_SCRATCH_H
#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Marks [p, p + n) (rounded inwards to 2 MB) for transparent huge pages where the system offers them on request
 * (THP "madvise" mode): fewer TLB misses for the kernels' scattered row reads. Returns the bytes advised. */
static inline size_t advise_huge_pages(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20, a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
  if (b <= a) return 0;
  madvise((void *)a, b - a, MADV_HUGEPAGE); /* ENOMEM for unmapped parts of a reservation: advised where mapped */
  return b - a;
#else
  (void)p, (void)n;
  return 0;
#endif
}

typedef struct {
  void *p;
  size_t n;
} ScratchBuf;

static inline void *scratch_get(ScratchBuf *b, size_t bytes) {
  if (b->n < bytes) {
    free(b->p);
    b->p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!b->p) abort(); /* as a failed tfjs allocation would: there is no way to go on */
    advise_huge_pages(b->p, bytes);
    b->n = bytes;
  }
  return b->p;
}
#endif
