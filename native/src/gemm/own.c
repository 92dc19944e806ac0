/* Our own blocked sgemm (BLIS-style): B is packed into kc x NR panels and A into MR x kc panels, which absorbs
 * both transposes, and a register-blocked micro-kernel (kernel_*.c) multiplies one panel pair at a time. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../scratch.h"
#include "internal.h"
#include "../lm_kernels.h"

/* Packs rows [0, mc) x cols [0, kc) of op(A) (at a, already offset) into MR-row panels, zero rows past mc: the
 * micro-kernel then reads MR values of one column of op(A) per step from one cache line, whatever A's layout. */
static void pack_a(const SaeGemmKernel *kern, bool trans, int64_t mc, int64_t kc, const float *a, int64_t lda,
                   float *restrict out) {
  const int mr_ = kern->mr;
  for (int64_t i0 = 0; i0 < mc; i0 += mr_, out += (int64_t)mr_ * kc) {
    const int64_t rows = mc - i0 < mr_ ? mc - i0 : mr_;
    if (trans) { /* op(A)[i][p] = A[p][i]: each step copies a contiguous run of one row of A */
      for (int64_t p = 0; p < kc; p++) {
        const float *src = a + p * lda + i0;
        float *dst = out + p * mr_;
        for (int64_t i = 0; i < rows; i++) dst[i] = src[i];
        for (int64_t i = rows; i < mr_; i++) dst[i] = 0.0f;
      }
    } else if (rows == mr_ && kern->pack_a_rows) {
      kern->pack_a_rows(kc, a + i0 * lda, lda, out);
    } else { /* op(A)[i][p] = A[i][p]: gathers column p of MR rows, each row streamed once */
      for (int64_t i = 0; i < rows; i++) {
        const float *src = a + (i0 + i) * lda;
        for (int64_t p = 0; p < kc; p++) out[p * mr_ + i] = src[p];
      }
      for (int64_t i = rows; i < mr_; i++)
        for (int64_t p = 0; p < kc; p++) out[p * mr_ + i] = 0.0f;
    }
  }
}

/* Packs rows [0, kc) x cols [0, nc) of op(B) into NR-column panels, zero columns past nc. */
static void pack_b(const SaeGemmKernel *kern, bool trans, int64_t kc, int64_t nc, const float *b, int64_t ldb,
                   float *restrict out) {
  const int nr_ = kern->nr;
  for (int64_t j0 = 0; j0 < nc; j0 += nr_, out += (int64_t)nr_ * kc) {
    const int64_t cols = nc - j0 < nr_ ? nc - j0 : nr_;
    if (trans && cols == nr_ && kern->pack_bt_cols) {
      kern->pack_bt_cols(kc, b + j0 * ldb, ldb, out);
    } else if (!trans) { /* op(B)[p][j] = B[p][j]: one contiguous run of NR per step */
      for (int64_t p = 0; p < kc; p++) {
        memcpy(out + p * nr_, b + p * ldb + j0, (size_t)cols * sizeof(float));
        for (int64_t j = cols; j < nr_; j++) out[p * nr_ + j] = 0.0f;
      }
    } else { /* op(B)[p][j] = B[j][p]: B's rows are the panel's columns; taken 8 at a time so each row of B is
              * read as whole cache lines while 8 panel rows are written */
      int64_t p0 = 0;
      for (; p0 + 8 <= kc; p0 += 8) {
        for (int64_t j = 0; j < cols; j++) {
          const float *src = b + (j0 + j) * ldb + p0;
          for (int q = 0; q < 8; q++) out[(p0 + q) * nr_ + j] = src[q];
        }
      }
      for (int64_t j = 0; j < cols; j++)
        for (int64_t p = p0; p < kc; p++) out[p * nr_ + j] = b[(j0 + j) * ldb + p];
      for (int64_t p = 0; p < kc; p++)
        for (int64_t j = cols; j < nr_; j++) out[p * nr_ + j] = 0.0f;
    }
  }
}

/* The post-op on one finished tile of C (mr x nr at c; r at the same place of its own matrix). */
static void apply_post(const SaeGemmPost *post, const float *r, int mr, int nr, float *c, int64_t ldc) {
  for (int i = 0; i < mr; i++) {
    float *row = c + i * ldc;
    if (post->kind == SAE_POST_ADD) {
      const float *ri = r + i * post->ldr;
      for (int j = 0; j < nr; j++) row[j] = row[j] + ri[j];
    } else if (post->kind == SAE_POST_GELU_NEW) {
      gelu_new_inplace(row, nr);
    }
  }
}

/* The micro-kernel calls of one packed A block (mc x kc at ap) against one packed B block (kc x nc at bp); with
 * `post` (the last K block only; its r at this block's origin), each tile gets the post-op right after its kernel. */
static void macro_kernel(const SaeGemmKernel *kern, int64_t mc, int64_t nc, int64_t kc, const float *ap,
                         const float *bp, float alpha, float beta, const float *bias, float *c, int64_t ldc,
                         const SaeGemmPost *post) {
  const int MR = kern->mr, NR = kern->nr;
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int mr = (int)(mc - ir < MR ? mc - ir : MR);
    const float *apanel = ap + ir * kc;
    float *crow = c + ir * ldc;
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int nr = (int)(nc - jr < NR ? nc - jr : NR);
      kern->kernel(kc, apanel, bp + jr * kc, crow + jr, ldc, alpha, beta, bias ? bias + jr : NULL, mr, nr);
      if (post) apply_post(post, post->r + ir * post->ldr + jr, mr, nr, crow + jr, ldc);
    }
  }
}

/* A packed B of up to this many floats (all K blocks of one NC block) lets the K loop run inside the M loop. */
#define WHOLE_B_FLOATS ((int64_t)256 * 1024)

/* One thread's share: C[0:m, 0:n] of the product, run block by block. The loop order keeps one packed A panel
 * (MR x kc, a few KB) in L1 while the micro-kernel sweeps the packed B block (kc x nc, sized for L2). With several
 * K blocks and a B small enough to pack whole (the LM's [·,1024] x [1024,256]), every K block of one MC-row block
 * runs before the next, so that C tile stays in L2 between its K blocks instead of coming back from L3: each
 * output still gets the same kernel calls, K block by K block in the same order, so the same bits. */
static void gemm_block(const SaeGemmKernel *kern, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta, const float *bias, float *c,
                       int64_t ldc, const SaeGemmPost *post) {
  static _Thread_local ScratchBuf a_buf, b_buf;
  const int MR = kern->mr, NR = kern->nr;
  const int64_t KC = kern->kc, MC = kern->mc, NC = kern->nc;
  const int64_t kc_max = k < KC ? k : KC;
  const int64_t nc_max = n < NC ? n : NC, mc_max = m < MC ? m : MC;
  const int64_t nc_pad = (nc_max + NR - 1) / NR * NR;
  const bool whole_b = k > KC && m > MC && k * nc_pad <= WHOLE_B_FLOATS;
  float *bp = (float *)scratch_get(&b_buf, (size_t)((whole_b ? k : kc_max) * nc_pad) * sizeof(float));
  float *ap = (float *)scratch_get(&a_buf, (size_t)(kc_max * ((mc_max + MR - 1) / MR * MR)) * sizeof(float));
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = n - jc < NC ? n - jc : NC;
    const float *bias_j = bias ? bias + jc : NULL;
    if (whole_b) {
      for (int64_t pc = 0; pc < k; pc += KC) { /* K block pc at bp + pc · nc_pad (every block before it is KC) */
        const int64_t kc = k - pc < KC ? k - pc : KC;
        pack_b(kern, tb, kc, nc, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, bp + pc * nc_pad);
      }
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = m - ic < MC ? m - ic : MC;
        for (int64_t pc = 0; pc < k; pc += KC) {
          const int64_t kc = k - pc < KC ? k - pc : KC;
          pack_a(kern, ta, mc, kc, ta ? a + pc * lda + ic : a + ic * lda + pc, lda, ap);
          /* Later K blocks add onto what the first wrote: beta (or the bias) applies once. */
          const SaeGemmPost at = post ? (SaeGemmPost){post->kind, post->r + ic * post->ldr + jc, post->ldr} : (SaeGemmPost){0};
          macro_kernel(kern, mc, nc, kc, ap, bp + pc * nc_pad, alpha, pc == 0 ? beta : 1.0f, pc == 0 ? bias_j : NULL,
                       c + ic * ldc + jc, ldc, post && pc + kc >= k ? &at : NULL);
        }
      }
      continue;
    }
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = k - pc < KC ? k - pc : KC;
      pack_b(kern, tb, kc, nc, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, bp);
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = m - ic < MC ? m - ic : MC;
        pack_a(kern, ta, mc, kc, ta ? a + pc * lda + ic : a + ic * lda + pc, lda, ap);
        /* Later K blocks add onto what the first wrote: beta (or the bias) applies once. */
        const SaeGemmPost at = post ? (SaeGemmPost){post->kind, post->r + ic * post->ldr + jc, post->ldr} : (SaeGemmPost){0};
        macro_kernel(kern, mc, nc, kc, ap, bp, alpha, pc == 0 ? beta : 1.0f, pc == 0 ? bias_j : NULL,
                     c + ic * ldc + jc, ldc, post && pc + kc >= k ? &at : NULL);
      }
    }
  }
}

/* Splits C into tm x tn blocks, one per thread, each a whole independent product (no barriers): splitting M makes
 * every thread pack all of B and splitting N all of A, so the split minimising n/tn + m/tm packs the least. */
static void split(int threads, int64_t m, int64_t n, int mr, int nr, int *tm, int *tn) {
  double best = -1.0;
  *tm = 1, *tn = 1;
  for (int x = 1; x <= threads; x++) {
    if (threads % x) continue;
    const int y = threads / x;
    if ((int64_t)x > (m + mr - 1) / mr || (int64_t)y > (n + nr - 1) / nr) continue;
    const double cost = (double)n / y + (double)m / x;
    if (best < 0 || cost < best) best = cost, *tm = x, *tn = y;
  }
}

#ifdef _OPENMP
/* [lo, hi) of part t of `parts` over `total`, cut at multiples of `unit` so only the last part has a ragged edge. */
static void share(int64_t total, int parts, int t, int64_t unit, int64_t *lo, int64_t *hi) {
  const int64_t units = (total + unit - 1) / unit;
  *lo = units * t / parts * unit;
  *hi = units * (t + 1) / parts * unit;
  if (*lo > total) *lo = total;
  if (*hi > total) *hi = total;
}
#endif

void sae_own_sgemm(const SaeGemmKernel *kern, int threads, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                   const float *bias, float *c, int64_t ldc, const SaeGemmPost *post) {
  /* Below ~8 MFLOP (~80 us on one core) waking the other threads (passive OpenMP waits: a futex each) costs about
   * what they would save. */
  if ((double)m * (double)n * (double)k < 4e6) threads = 1;
  int tm = 1, tn = 1;
  if (threads > 1) split(threads, m, n, kern->mr, kern->nr, &tm, &tn);
  if (tm * tn == 1) {
    gemm_block(kern, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc, post);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(tm * tn)
  {
    const int t = omp_get_thread_num();
    int64_t m0, m1, n0, n1;
    share(m, tm, t / tn, kern->mr, &m0, &m1);
    share(n, tn, t % tn, kern->nr, &n0, &n1);
    if (m1 > m0 && n1 > n0) {
      const SaeGemmPost part = post ? (SaeGemmPost){post->kind, post->r + m0 * post->ldr + n0, post->ldr} : (SaeGemmPost){0};
      gemm_block(kern, ta, tb, m1 - m0, n1 - n0, k, alpha, ta ? a + m0 : a + m0 * lda, lda,
                 tb ? b + n0 * ldb : b + n0, ldb, beta, bias ? bias + n0 : NULL, c + m0 * ldc + n0, ldc,
                 post ? &part : NULL);
    }
  }
#else
  gemm_block(kern, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc, post);
#endif
}
