/* Scratch buffers kept between calls, one set per calling thread (the JS thread, each OpenMP worker): a step's
 * temporaries are megabytes, and a fresh malloc of that size is a fresh mmap whose pages fault in on every call
 * (~1 ms per 4 MB here). They grow to the largest size asked for and are released when the thread ends. */
#ifndef SAE_SCRATCH_H
#define SAE_SCRATCH_H
#include <stdlib.h>

typedef struct {
  void *p;
  size_t n;
} ScratchBuf;

static inline void *scratch_get(ScratchBuf *b, size_t bytes) {
  if (b->n < bytes) {
    free(b->p);
    b->p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!b->p) abort(); /* as a failed tfjs allocation would: there is no way to go on */
    b->n = bytes;
  }
  return b->p;
}
#endif
