// N-API binding of the addon's row-major sgemm (gemm.h: our own, or OpenBLAS/Accelerate where linked) for SAE
// Studio's tfjs matmul kernels. It works in place on the memory of the Float32Arrays it is given (no copies), so
// every length, stride and overlap is checked first.
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>
#include <omp.h>
#include "gemm.h"
#include "row_gather.h"
#include "sparse_topk.h"

#define MAX_ARGS 20
// Strides and leading dimensions beyond this cannot address a JS typed array (2^53 keeps products exact).
#define MAX_INDEX ((int64_t)1 << 53)

typedef struct {
  const char *fn;
  bool trans_a, trans_b;
  int64_t m, n, k, batch;
  float alpha, beta;
  float *a, *b, *c;
  float *bias; /* sgemmBatchedBias: n values added under every row of C, in place of beta · C */
  size_t len_a, len_b, len_c, len_bias;
  int64_t lda, ldb, ldc;
  int64_t stride_a, stride_b, stride_c;
} Gemm;

static void throw_type(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", fn, what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
}

static void throw_range(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", fn, what);
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
}

static bool get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, napi_value *argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != want) {
    char what[96];
    snprintf(what, sizeof what, "expected %zu arguments, got %zu", want, argc);
    throw_type(env, fn, what);
    return false;
  }
  return true;
}

static bool arg_bool(napi_env env, const char *fn, napi_value v, const char *name, bool *out) {
  char what[96];
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  snprintf(what, sizeof what, "%s must be a boolean", name);
  throw_type(env, fn, what);
  return false;
}

static bool arg_number(napi_env env, const char *fn, napi_value v, const char *name, double *out) {
  char what[96];
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  snprintf(what, sizeof what, "%s must be a number", name);
  throw_type(env, fn, what);
  return false;
}

/** An integer in [min, max], given as a JS number. */
static bool arg_int(napi_env env, const char *fn, napi_value v, const char *name, int64_t min, int64_t max,
                    int64_t *out) {
  double d;
  char what[128];
  if (!arg_number(env, fn, v, name, &d)) return false;
  if (!(d >= (double)min && d <= (double)max) || floor(d) != d) {
    snprintf(what, sizeof what, "%s must be an integer in [%lld, %lld], got %g", name, (long long)min,
             (long long)max, d);
    throw_range(env, fn, what);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool arg_f32(napi_env env, const char *fn, napi_value v, const char *name, float **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  char what[96];
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    snprintf(what, sizeof what, "%s must be a Float32Array", name);
    throw_type(env, fn, what);
    return false;
  }
  *data = (float *)ptr;  // already advanced by the view's byteOffset
  return true;
}

/** Elements spanned by one row-major rows x cols matrix with leading dimension ld. */
static int64_t extent(int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
}

/** Elements spanned by `batch` matrices `stride` apart; false when that overflows. */
static bool span(int64_t batch, int64_t stride, int64_t one, int64_t *out) {
  int64_t steps;
  if (batch == 0 || one == 0) {
    *out = 0;
    return true;
  }
  if (__builtin_mul_overflow(batch - 1, stride, &steps) || __builtin_add_overflow(steps, one, out)) return false;
  return true;
}

static bool check_operand(napi_env env, const Gemm *g, const char *name, const char *ld_name, int64_t rows,
                          int64_t cols, int64_t ld, int64_t stride, size_t length, int64_t *needed) {
  char what[200];
  int64_t min_ld = cols > 1 ? cols : 1;
  if (ld < min_ld) {
    snprintf(what, sizeof what, "%s = %lld is below max(1, %lld), the row length of %s", ld_name, (long long)ld,
             (long long)cols, name);
    throw_range(env, g->fn, what);
    return false;
  }
  if (!span(g->batch, stride, extent(rows, cols, ld), needed) || (uint64_t)*needed > (uint64_t)length) {
    snprintf(what, sizeof what, "%s has %zu elements but the %lld x %lld matrices (ld %lld, stride %lld, batch %lld) "
             "need %lld", name, length, (long long)rows, (long long)cols, (long long)ld, (long long)stride,
             (long long)g->batch, (long long)*needed);
    throw_range(env, g->fn, what);
    return false;
  }
  return true;
}

static bool overlaps(const float *p, int64_t np, const float *q, int64_t nq) {
  return np > 0 && nq > 0 && p < q + nq && q < p + np;
}

static bool validate(napi_env env, const Gemm *g) {
  int64_t need_a = 0, need_b = 0, need_c = 0; /* set by check_operand; zeroed for -Wmaybe-uninitialized */
  if (!check_operand(env, g, "A", "lda", g->trans_a ? g->k : g->m, g->trans_a ? g->m : g->k, g->lda, g->stride_a,
                     g->len_a, &need_a) ||
      !check_operand(env, g, "B", "ldb", g->trans_b ? g->n : g->k, g->trans_b ? g->k : g->n, g->ldb, g->stride_b,
                     g->len_b, &need_b) ||
      !check_operand(env, g, "C", "ldc", g->m, g->n, g->ldc, g->stride_c, g->len_c, &need_c)) {
    return false;
  }
  if (g->batch > 1 && g->stride_c < extent(g->m, g->n, g->ldc)) {
    throw_range(env, g->fn, "strideC is smaller than one C matrix, so the outputs of the batch would overlap");
    return false;
  }
  if (overlaps(g->c, need_c, g->a, need_a) || overlaps(g->c, need_c, g->b, need_b)) {
    throw_range(env, g->fn, "C must not share memory with A or B");
    return false;
  }
  if (g->bias) {
    char what[128];
    if ((uint64_t)g->len_bias < (uint64_t)g->n) {
      snprintf(what, sizeof what, "bias has %zu elements but N = %lld", g->len_bias, (long long)g->n);
      throw_range(env, g->fn, what);
      return false;
    }
    if (overlaps(g->c, need_c, g->bias, g->n)) {
      throw_range(env, g->fn, "C must not share memory with bias");
      return false;
    }
  }
  return true;
}

static void run(const Gemm *g) {
  if (g->m == 0 || g->n == 0 || g->batch == 0) return;
  // A stack of row-major A's times one shared B is a single GEMM with batch * M rows: one call keeps all threads
  // busy where many small ones would not.
  int64_t rows = g->m * g->batch;
  if (g->batch > 1 && g->stride_b == 0 && !g->trans_a && g->stride_a == g->m * g->lda &&
      g->stride_c == g->m * g->ldc && rows <= INT_MAX) {
    if (g->bias) {
      sae_sgemm_bias_batched(false, g->trans_b, rows, g->n, g->k, g->alpha, g->a, g->lda, 0, g->b, g->ldb, 0, g->bias,
                             g->c, g->ldc, 0, 1);
    } else {
      sae_sgemm(false, g->trans_b, rows, g->n, g->k, g->alpha, g->a, g->lda, g->b, g->ldb, g->beta, g->c, g->ldc);
    }
    return;
  }
  if (g->bias) {
    sae_sgemm_bias_batched(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a, g->lda, g->stride_a, g->b,
                           g->ldb, g->stride_b, g->bias, g->c, g->ldc, g->stride_c, g->batch);
    return;
  }
  sae_sgemm_batched(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a, g->lda, g->stride_a, g->b, g->ldb,
                    g->stride_b, g->beta, g->c, g->ldc, g->stride_c, g->batch);
}

/** Reads transA, transB, M, N, K, alpha starting at argv[0]. */
static bool read_head(napi_env env, napi_value *argv, Gemm *g) {
  double alpha;
  if (!arg_bool(env, g->fn, argv[0], "transA", &g->trans_a) || !arg_bool(env, g->fn, argv[1], "transB", &g->trans_b) ||
      !arg_int(env, g->fn, argv[2], "M", 0, INT_MAX, &g->m) || !arg_int(env, g->fn, argv[3], "N", 0, INT_MAX, &g->n) ||
      !arg_int(env, g->fn, argv[4], "K", 0, INT_MAX, &g->k) || !arg_number(env, g->fn, argv[5], "alpha", &alpha)) {
    return false;
  }
  g->alpha = (float)alpha;
  return true;
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha * op(A) op(B) + beta * C.
static napi_value sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  Gemm g = {.fn = "sgemm", .batch = 1};
  double beta;
  if (!get_args(env, info, g.fn, 13, argv) || !read_head(env, argv, &g) ||
      !arg_f32(env, g.fn, argv[6], "A", &g.a, &g.len_a) || !arg_int(env, g.fn, argv[7], "lda", 1, INT_MAX, &g.lda) ||
      !arg_f32(env, g.fn, argv[8], "B", &g.b, &g.len_b) || !arg_int(env, g.fn, argv[9], "ldb", 1, INT_MAX, &g.ldb) ||
      !arg_number(env, g.fn, argv[10], "beta", &beta) || !arg_f32(env, g.fn, argv[11], "C", &g.c, &g.len_c) ||
      !arg_int(env, g.fn, argv[12], "ldc", 1, INT_MAX, &g.ldc)) {
    return NULL;
  }
  g.beta = (float)beta;
  if (validate(env, &g)) run(&g);
  return NULL;
}

// sgemmBatched(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch):
// matrix i of each operand starts i * stride elements in; a stride of 0 broadcasts that operand over the batch.
static napi_value sgemm_batched(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  Gemm g = {.fn = "sgemmBatched"};
  double beta;
  if (!get_args(env, info, g.fn, 17, argv) || !read_head(env, argv, &g) ||
      !arg_f32(env, g.fn, argv[6], "A", &g.a, &g.len_a) || !arg_int(env, g.fn, argv[7], "lda", 1, INT_MAX, &g.lda) ||
      !arg_int(env, g.fn, argv[8], "strideA", 0, MAX_INDEX, &g.stride_a) ||
      !arg_f32(env, g.fn, argv[9], "B", &g.b, &g.len_b) || !arg_int(env, g.fn, argv[10], "ldb", 1, INT_MAX, &g.ldb) ||
      !arg_int(env, g.fn, argv[11], "strideB", 0, MAX_INDEX, &g.stride_b) ||
      !arg_number(env, g.fn, argv[12], "beta", &beta) || !arg_f32(env, g.fn, argv[13], "C", &g.c, &g.len_c) ||
      !arg_int(env, g.fn, argv[14], "ldc", 1, INT_MAX, &g.ldc) ||
      !arg_int(env, g.fn, argv[15], "strideC", 0, MAX_INDEX, &g.stride_c) ||
      !arg_int(env, g.fn, argv[16], "batch", 0, INT_MAX, &g.batch)) {
    return NULL;
  }
  g.beta = (float)beta;
  if (validate(env, &g)) run(&g);
  return NULL;
}

// sgemmBatchedBias(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, bias, C, ldc, strideC, batch):
// as sgemmBatched with beta = 1 on a C whose every row holds bias (N values), to the bit, but C is only written.
static napi_value sgemm_batched_bias(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  Gemm g = {.fn = "sgemmBatchedBias", .beta = 1.0f};
  if (!get_args(env, info, g.fn, 17, argv) || !read_head(env, argv, &g) ||
      !arg_f32(env, g.fn, argv[6], "A", &g.a, &g.len_a) || !arg_int(env, g.fn, argv[7], "lda", 1, INT_MAX, &g.lda) ||
      !arg_int(env, g.fn, argv[8], "strideA", 0, MAX_INDEX, &g.stride_a) ||
      !arg_f32(env, g.fn, argv[9], "B", &g.b, &g.len_b) || !arg_int(env, g.fn, argv[10], "ldb", 1, INT_MAX, &g.ldb) ||
      !arg_int(env, g.fn, argv[11], "strideB", 0, MAX_INDEX, &g.stride_b) ||
      !arg_f32(env, g.fn, argv[12], "bias", &g.bias, &g.len_bias) ||
      !arg_f32(env, g.fn, argv[13], "C", &g.c, &g.len_c) || !arg_int(env, g.fn, argv[14], "ldc", 1, INT_MAX, &g.ldc) ||
      !arg_int(env, g.fn, argv[15], "strideC", 0, MAX_INDEX, &g.stride_c) ||
      !arg_int(env, g.fn, argv[16], "batch", 0, INT_MAX, &g.batch)) {
    return NULL;
  }
  if (validate(env, &g)) run(&g);
  return NULL;
}

static napi_value boolean(napi_env env, bool value);

// sgemmPost(M, N, K, A, B, bias, post, R, C) → whether it ran: C = post(A·B + bias) for row-major A [M, K], B [K, N],
// C and R [M, N] (sae_sgemm_post); bias (N values) and R may be null; post 0 none, 1 add R, 2 the tanh GELU.
static napi_value sgemm_post(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const char *fn = "sgemmPost";
  Gemm g = {.fn = fn, .batch = 1, .beta = 0.0f, .alpha = 1.0f};
  int64_t kind;
  float *r = NULL;
  size_t len_r = 0;
  napi_valuetype t;
  if (!get_args(env, info, fn, 9, argv) || !arg_int(env, fn, argv[0], "M", 0, INT_MAX, &g.m) ||
      !arg_int(env, fn, argv[1], "N", 0, INT_MAX, &g.n) || !arg_int(env, fn, argv[2], "K", 0, INT_MAX, &g.k) ||
      !arg_f32(env, fn, argv[3], "A", &g.a, &g.len_a) || !arg_f32(env, fn, argv[4], "B", &g.b, &g.len_b) ||
      !arg_int(env, fn, argv[6], "post", 0, 2, &kind) || !arg_f32(env, fn, argv[8], "C", &g.c, &g.len_c)) {
    return NULL;
  }
  if (napi_typeof(env, argv[5], &t) != napi_ok) return NULL;
  if (t != napi_null && !arg_f32(env, fn, argv[5], "bias", &g.bias, &g.len_bias)) return NULL;
  if (napi_typeof(env, argv[7], &t) != napi_ok) return NULL;
  if (t != napi_null && !arg_f32(env, fn, argv[7], "R", &r, &len_r)) return NULL;
  g.lda = g.k > 1 ? g.k : 1, g.ldb = g.n > 1 ? g.n : 1, g.ldc = g.n > 1 ? g.n : 1;
  if (!validate(env, &g)) return NULL;
  const int64_t need = g.m * g.n;
  if (kind == SAE_POST_ADD) {
    char what[128];
    if (!r || (uint64_t)len_r < (uint64_t)need) {
      snprintf(what, sizeof what, "R has %zu elements but the %lld x %lld sum needs %lld", r ? len_r : 0,
               (long long)g.m, (long long)g.n, (long long)need);
      throw_range(env, fn, what);
      return NULL;
    }
    if (overlaps(g.c, need, r, need)) {
      throw_range(env, fn, "C must not share memory with R");
      return NULL;
    }
  }
  return boolean(env, sae_sgemm_post(g.m, g.n, g.k, g.a, g.b, g.bias, (SaeGemmPostKind)kind, r, g.c) != 0);
}

static napi_value threads(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  napi_create_int32(env, sae_blas_threads(), &out);
  return out;
}

// setThreads(n): the thread count of our sgemm and of the system BLAS alike.
static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int64_t n;
  if (!get_args(env, info, "setThreads", 1, argv) || !arg_int(env, "setThreads", argv[0], "n", 1, 1024, &n)) {
    return NULL;
  }
  sae_blas_set_threads((int)n);
  return NULL;
}

/** A short string argument (a name such as 'own' or 'avx2'); false after throwing when it is not one. */
static bool arg_name(napi_env env, const char *fn, napi_value v, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, size, &len) == napi_ok && len < size - 1) return true;
  throw_type(env, fn, "expected a short string");
  return false;
}

static napi_value boolean(napi_env env, bool value) {
  napi_value out;
  napi_get_boolean(env, value, &out);
  return out;
}

// setBlas('own' | 'system'): which sgemm the matmul and sparse kernels call; false where no system BLAS is linked.
static napi_value set_blas(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  char name[16];
  if (!get_args(env, info, "setBlas", 1, argv) || !arg_name(env, "setBlas", argv[0], name, sizeof name)) return NULL;
  if (strcmp(name, "own") == 0) return boolean(env, sae_blas_set_backend(SAE_BLAS_OWN));
  if (strcmp(name, "system") == 0) return boolean(env, sae_blas_set_backend(SAE_BLAS_SYSTEM));
  throw_range(env, "setBlas", "expected 'own' or 'system'");
  return NULL;
}

// setIsa('portable' | 'avx2' | 'avx512' | 'best'): forces our sgemm's micro-kernel (for tests and benchmarks);
// false, leaving it unchanged, where this CPU cannot run it.
static napi_value set_isa(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  char name[16];
  if (!get_args(env, info, "setIsa", 1, argv) || !arg_name(env, "setIsa", argv[0], name, sizeof name)) return NULL;
  return boolean(env, sae_gemm_set_isa(name));
}

static bool set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

// info(): { blas, backend, system, isa, threads, config, corename, procs }: `blas` names the sgemm in use ("own
// (avx512, 2 threads)", "openblas (Zen)", "accelerate"); `system` the BLAS linked at build time ("" for none);
// config and corename are OpenBLAS's ("own sgemm" and the ISA for ours).
static napi_value blas_info(napi_env env, napi_callback_info info) {
  napi_value out, n;
  char desc[96];
  (void)info;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  const bool own = sae_blas_backend() == SAE_BLAS_OWN;
  const char *system = sae_blas_system_name();
  sae_blas_describe(desc, sizeof desc);
  set_string(env, out, "blas", desc);
  set_string(env, out, "backend", own ? "own" : system);
  set_string(env, out, "system", system);
  set_string(env, out, "isa", sae_gemm_isa());
  set_string(env, out, "config", own || !system ? "own sgemm" : sae_blas_system_config());
  set_string(env, out, "corename", own || !system ? sae_gemm_isa() : sae_blas_system_corename());
  napi_create_int32(env, sae_blas_threads(), &n);
  napi_set_named_property(env, out, "threads", n);
  napi_create_int32(env, omp_get_num_procs(), &n);
  napi_set_named_property(env, out, "procs", n);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgemmBatched", NULL, sgemm_batched, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgemmBatchedBias", NULL, sgemm_batched_bias, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgemmPost", NULL, sgemm_post, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setBlas", NULL, set_blas, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setIsa", NULL, set_isa, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (register_sparse_topk(env, exports) != napi_ok) return NULL;
  if (register_row_gather(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
