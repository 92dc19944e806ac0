// N-API bindings of the sparse TopK kernels, the fused Adam step, the fused row norm and the other host kernels. Arguments are typed arrays (never copied) and integers; every
// length is checked against the shapes before any kernel runs, and misuse throws a RangeError or TypeError.
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lm_kernels.h"
#include "row_topk.h"
#include "scratch.h"
#include "sparse_topk.h"

typedef struct {
  void *data;
  size_t length;
  napi_typedarray_type type;
  bool present;
} Arr;

static bool fail(napi_env env, const char *fn, const char *msg) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", fn, msg);
  napi_throw_range_error(env, NULL, buf);
  return false;
}

/* A typed array of `type`, or null/undefined when `optional`. */
static bool get_arr(napi_env env, const char *fn, napi_value v, napi_typedarray_type type, bool optional, size_t want, const char *name, Arr *out) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  out->present = false;
  if (optional && (vt == napi_null || vt == napi_undefined)) return true;
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  char msg[160];
  if (!is_ta) {
    snprintf(msg, sizeof msg, "%s must be a typed array", name);
    return fail(env, fn, msg);
  }
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &offset) != napi_ok) return fail(env, fn, "cannot read a typed array");
  if (out->type != type) {
    snprintf(msg, sizeof msg, "%s has the wrong element type", name);
    return fail(env, fn, msg);
  }
  if (out->length != want) {
    snprintf(msg, sizeof msg, "%s has %zu elements, expected %zu", name, out->length, want);
    return fail(env, fn, msg);
  }
  out->present = true;
  return true;
}

static bool get_int(napi_env env, const char *fn, napi_value v, const char *name, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out <= 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a positive integer", name);
    return fail(env, fn, msg);
  }
  return true;
}

#define F32 napi_float32_array
#define I32 napi_int32_array

/* topkEncode(x, bDecIn|null, W_E, b_E, B, d, F, k, preScratch|null, values, indices, fired|null) */
static napi_value topk_encode(napi_env env, napi_callback_info info) {
  const char *fn = "topkEncode";
  size_t argc = 12;
  napi_value a[12];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 12) { fail(env, fn, "expected 12 arguments"); return NULL; }
  int64_t B, d, F, k;
  if (!get_int(env, fn, a[4], "B", &B) || !get_int(env, fn, a[5], "d", &d) || !get_int(env, fn, a[6], "F", &F) || !get_int(env, fn, a[7], "k", &k)) return NULL;
  if (k > F) { fail(env, fn, "k exceeds F"); return NULL; }
  Arr x, bd, we, be, pre, val, idx, fired;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * d), "x", &x) || !get_arr(env, fn, a[1], F32, true, (size_t)d, "bDecIn", &bd) ||
      !get_arr(env, fn, a[2], F32, false, (size_t)(d * F), "W_E", &we) || !get_arr(env, fn, a[3], F32, false, (size_t)F, "b_E", &be) ||
      !get_arr(env, fn, a[8], F32, true, (size_t)(B * F), "preScratch", &pre) || !get_arr(env, fn, a[9], F32, false, (size_t)(B * k), "values", &val) ||
      !get_arr(env, fn, a[10], I32, false, (size_t)(B * k), "indices", &idx) || !get_arr(env, fn, a[11], F32, true, (size_t)F, "fired", &fired))
    return NULL;
  sparse_topk_encode(x.data, bd.present ? bd.data : NULL, we.data, be.data, B, d, F, k, pre.present ? pre.data : NULL, val.data, idx.data, fired.present ? fired.data : NULL);
  return NULL;
}

/* topkDecode(values, indices, W_D, b_D|null, B, k, d, F, out) */
static napi_value topk_decode(napi_env env, napi_callback_info info) {
  const char *fn = "topkDecode";
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 9) { fail(env, fn, "expected 9 arguments"); return NULL; }
  int64_t B, k, d, F;
  if (!get_int(env, fn, a[4], "B", &B) || !get_int(env, fn, a[5], "k", &k) || !get_int(env, fn, a[6], "d", &d) || !get_int(env, fn, a[7], "F", &F)) return NULL;
  Arr val, idx, wd, bD, out;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * k), "values", &val) || !get_arr(env, fn, a[1], I32, false, (size_t)(B * k), "indices", &idx) ||
      !get_arr(env, fn, a[2], F32, false, (size_t)(F * d), "W_D", &wd) || !get_arr(env, fn, a[3], F32, true, (size_t)d, "b_D", &bD) ||
      !get_arr(env, fn, a[8], F32, false, (size_t)(B * d), "out", &out))
    return NULL;
  const int32_t *ix = idx.data;
  for (int64_t i = 0; i < B * k; i++)
    if (ix[i] < 0 || ix[i] >= F) { fail(env, fn, "an index is out of range 0..F-1"); return NULL; }
  sparse_topk_decode(val.data, ix, wd.data, bD.present ? bD.data : NULL, B, k, d, out.data);
  return NULL;
}

/* topkBackward(g, x, bDecIn|null, values, indices, W_E, W_D, B, d, F, k, dW_E, db_E, dW_D, db_D) */
static napi_value topk_backward(napi_env env, napi_callback_info info) {
  const char *fn = "topkBackward";
  size_t argc = 15;
  napi_value a[15];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 15) { fail(env, fn, "expected 15 arguments"); return NULL; }
  int64_t B, d, F, k;
  if (!get_int(env, fn, a[7], "B", &B) || !get_int(env, fn, a[8], "d", &d) || !get_int(env, fn, a[9], "F", &F) || !get_int(env, fn, a[10], "k", &k)) return NULL;
  Arr g, x, bd, val, idx, we, wd, dwe, dbe, dwd, dbd;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * d), "g", &g) || !get_arr(env, fn, a[1], F32, false, (size_t)(B * d), "x", &x) ||
      !get_arr(env, fn, a[2], F32, true, (size_t)d, "bDecIn", &bd) || !get_arr(env, fn, a[3], F32, false, (size_t)(B * k), "values", &val) ||
      !get_arr(env, fn, a[4], I32, false, (size_t)(B * k), "indices", &idx) || !get_arr(env, fn, a[5], F32, false, (size_t)(d * F), "W_E", &we) ||
      !get_arr(env, fn, a[6], F32, false, (size_t)(F * d), "W_D", &wd) || !get_arr(env, fn, a[11], F32, true, (size_t)(d * F), "dW_E", &dwe) ||
      !get_arr(env, fn, a[12], F32, true, (size_t)F, "db_E", &dbe) || !get_arr(env, fn, a[13], F32, true, (size_t)(F * d), "dW_D", &dwd) ||
      !get_arr(env, fn, a[14], F32, true, (size_t)d, "db_D", &dbd))
    return NULL;
  const int32_t *ix = idx.data;
  for (int64_t i = 0; i < B * k; i++)
    if (ix[i] < 0 || ix[i] >= F) { fail(env, fn, "an index is out of range 0..F-1"); return NULL; }
  sparse_topk_backward(g.data, x.data, bd.present ? bd.data : NULL, val.data, ix, we.data, wd.data, B, d, F, k,
                       dwe.present ? dwe.data : NULL, dbe.present ? dbe.data : NULL, dwd.present ? dwd.data : NULL, dbd.present ? dbd.data : NULL);
  return NULL;
}

static bool get_float(napi_env env, const char *fn, napi_value v, const char *name, float *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    return fail(env, fn, msg);
  }
  *out = (float)d;
  return true;
}

/* topkDecodeResidual(values, indices, W_D, b_D|null, y, dy, B, k, d, F, g, rowErr) */
static napi_value topk_decode_residual(napi_env env, napi_callback_info info) {
  const char *fn = "topkDecodeResidual";
  size_t argc = 12;
  napi_value a[12];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 12) { fail(env, fn, "expected 12 arguments"); return NULL; }
  int64_t B, k, d, F;
  if (!get_int(env, fn, a[6], "B", &B) || !get_int(env, fn, a[7], "k", &k) || !get_int(env, fn, a[8], "d", &d) || !get_int(env, fn, a[9], "F", &F)) return NULL;
  Arr val, idx, wd, bD, y, dy, g, err;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * k), "values", &val) || !get_arr(env, fn, a[1], I32, false, (size_t)(B * k), "indices", &idx) ||
      !get_arr(env, fn, a[2], F32, false, (size_t)(F * d), "W_D", &wd) || !get_arr(env, fn, a[3], F32, true, (size_t)d, "b_D", &bD) ||
      !get_arr(env, fn, a[4], F32, false, (size_t)(B * d), "y", &y) || !get_arr(env, fn, a[5], F32, false, (size_t)B, "dy", &dy) ||
      !get_arr(env, fn, a[10], F32, false, (size_t)(B * d), "g", &g) || !get_arr(env, fn, a[11], F32, false, (size_t)B, "rowErr", &err))
    return NULL;
  const int32_t *ix = idx.data;
  for (int64_t i = 0; i < B * k; i++)
    if (ix[i] < 0 || ix[i] >= F) { fail(env, fn, "an index is out of range 0..F-1"); return NULL; }
  sparse_topk_decode_residual(val.data, ix, wd.data, bD.present ? bD.data : NULL, y.data, dy.data, B, k, d, g.data, err.data);
  return NULL;
}

/* One parameter of topkBackwardAdam: an array [p, m, v, pOut, mOut, vOut] of float arrays of `n` elements each. */
static bool get_adam_param(napi_env env, const char *fn, napi_value v, bool optional, size_t n, const char *name, float *in[3], float *out[3]) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  in[0] = in[1] = in[2] = out[0] = out[1] = out[2] = NULL;
  if (optional && (vt == napi_null || vt == napi_undefined)) return true;
  bool is_array = false;
  uint32_t len = 0;
  napi_is_array(env, v, &is_array);
  if (is_array) napi_get_array_length(env, v, &len);
  char msg[128];
  if (!is_array || len != 6) {
    snprintf(msg, sizeof msg, "%s must be an array [p, m, v, pOut, mOut, vOut]", name);
    return fail(env, fn, msg);
  }
  static const char *const part[6] = {"p", "m", "v", "pOut", "mOut", "vOut"};
  for (uint32_t q = 0; q < 6; q++) {
    napi_value e;
    napi_get_element(env, v, q, &e);
    snprintf(msg, sizeof msg, "%s.%s", name, part[q]);
    Arr arr;
    if (!get_arr(env, fn, e, F32, false, n, msg, &arr)) return false;
    (q < 3 ? in : out)[q % 3] = arr.data;
  }
  return true;
}

/* topkBackwardAdam(g, x, bDecIn|null, values, indices, B, d, F, k, W_E, W_D, b_E, b_D|null, stepSizes[4], hyper[6], unitRows):
 * each parameter [p, m, v, pOut, mOut, vOut]; stepSizes for W_E, W_D, b_E, b_D; hyper = [b1, 1 − b1, b2, 1 − b2, eps, sqrt(c2)]. */
static napi_value topk_backward_adam(napi_env env, napi_callback_info info) {
  const char *fn = "topkBackwardAdam";
  size_t argc = 16;
  napi_value a[16];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 16) { fail(env, fn, "expected 16 arguments"); return NULL; }
  int64_t B, d, F, k;
  if (!get_int(env, fn, a[5], "B", &B) || !get_int(env, fn, a[6], "d", &d) || !get_int(env, fn, a[7], "F", &F) || !get_int(env, fn, a[8], "k", &k)) return NULL;
  Arr g, x, bd, val, idx;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * d), "g", &g) || !get_arr(env, fn, a[1], F32, false, (size_t)(B * d), "x", &x) ||
      !get_arr(env, fn, a[2], F32, true, (size_t)d, "bDecIn", &bd) || !get_arr(env, fn, a[3], F32, false, (size_t)(B * k), "values", &val) ||
      !get_arr(env, fn, a[4], I32, false, (size_t)(B * k), "indices", &idx))
    return NULL;
  float *in[4][3], *out[4][3];
  if (!get_adam_param(env, fn, a[9], false, (size_t)(d * F), "W_E", in[0], out[0]) || !get_adam_param(env, fn, a[10], false, (size_t)(F * d), "W_D", in[1], out[1]) ||
      !get_adam_param(env, fn, a[11], false, (size_t)F, "b_E", in[2], out[2]) || !get_adam_param(env, fn, a[12], true, (size_t)d, "b_D", in[3], out[3]))
    return NULL;
  float step[4], hyper[6];
  const napi_value lists[2] = {a[13], a[14]};
  const uint32_t want[2] = {4, 6};
  float *dst[2] = {step, hyper};
  for (int l = 0; l < 2; l++) {
    bool is_array = false;
    uint32_t len = 0;
    napi_is_array(env, lists[l], &is_array);
    if (is_array) napi_get_array_length(env, lists[l], &len);
    if (!is_array || len != want[l]) { fail(env, fn, l == 0 ? "stepSizes must be an array of 4 numbers" : "hyper must be an array of 6 numbers"); return NULL; }
    for (uint32_t q = 0; q < len; q++) {
      napi_value e;
      napi_get_element(env, lists[l], q, &e);
      if (!get_float(env, fn, e, l == 0 ? "stepSizes[i]" : "hyper[i]", &dst[l][q])) return NULL;
    }
  }
  bool unit = false;
  if (napi_get_value_bool(env, a[15], &unit) != napi_ok) { fail(env, fn, "unitRows must be a boolean"); return NULL; }
  const int32_t *ix = idx.data;
  for (int64_t i = 0; i < B * k; i++)
    if (ix[i] < 0 || ix[i] >= F) { fail(env, fn, "an index is out of range 0..F-1"); return NULL; }
  sparse_topk_backward_adam(g.data, x.data, bd.present ? bd.data : NULL, val.data, ix, B, d, F, k, (const float *const(*)[3])in, out, step, hyper, unit ? 1 : 0);
  return NULL;
}

/* adamUpdate(p, g, m, v, stepSize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, sqrtC2, pOut, mOut, vOut, unitRowLength?):
 * with unitRowLength, p is a matrix of rows that long kept at unit norm (see adam_update_unit_rows). */
static napi_value adam_update_js(napi_env env, napi_callback_info info) {
  const char *fn = "adamUpdate";
  size_t argc = 15;
  napi_value a[15];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 14 && argc != 15) { fail(env, fn, "expected 14 or 15 arguments"); return NULL; }
  Arr p;
  napi_typedarray_type t;
  size_t n;
  void *data;
  napi_value ab;
  size_t off;
  bool is_ta = false;
  napi_is_typedarray(env, a[0], &is_ta);
  if (!is_ta || napi_get_typedarray_info(env, a[0], &t, &n, &data, &ab, &off) != napi_ok) { fail(env, fn, "p must be a Float32Array"); return NULL; }
  Arr g, m, v, po, mo, vo;
  float step, b1, omb1, b2, omb2, eps, sc2;
  if (!get_arr(env, fn, a[0], F32, false, n, "p", &p) || !get_arr(env, fn, a[1], F32, false, n, "g", &g) || !get_arr(env, fn, a[2], F32, false, n, "m", &m) ||
      !get_arr(env, fn, a[3], F32, false, n, "v", &v) || !get_float(env, fn, a[4], "stepSize", &step) || !get_float(env, fn, a[5], "beta1", &b1) ||
      !get_float(env, fn, a[6], "oneMinusBeta1", &omb1) || !get_float(env, fn, a[7], "beta2", &b2) || !get_float(env, fn, a[8], "oneMinusBeta2", &omb2) ||
      !get_float(env, fn, a[9], "eps", &eps) || !get_float(env, fn, a[10], "sqrtC2", &sc2) ||
      !get_arr(env, fn, a[11], F32, false, n, "pOut", &po) || !get_arr(env, fn, a[12], F32, false, n, "mOut", &mo) || !get_arr(env, fn, a[13], F32, false, n, "vOut", &vo))
    return NULL;
  napi_valuetype rt = napi_undefined;
  if (argc >= 15) napi_typeof(env, a[14], &rt);
  if (rt == napi_undefined || rt == napi_null) {
    adam_update(p.data, g.data, m.data, v.data, (int64_t)n, step, b1, omb1, b2, omb2, eps, sc2, po.data, mo.data, vo.data);
    return NULL;
  }
  int64_t d;
  if (!get_int(env, fn, a[14], "unitRowLength", &d)) return NULL;
  if (n % (size_t)d != 0) { fail(env, fn, "unitRowLength does not divide the parameter's length"); return NULL; }
  adam_update_unit_rows(p.data, g.data, m.data, v.data, (int64_t)n / d, d, step, b1, omb1, b2, omb2, eps, sc2, po.data, mo.data, vo.data);
  return NULL;
}

/* rowNorm(x, w, b | null, rows, d, eps, rms, out) */
static napi_value row_norm_js(napi_env env, napi_callback_info info) {
  const char *fn = "rowNorm";
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 8) { fail(env, fn, "expected 8 arguments"); return NULL; }
  int64_t rows, d;
  float eps;
  bool rms;
  if (!get_int(env, fn, a[3], "rows", &rows) || !get_int(env, fn, a[4], "d", &d) || !get_float(env, fn, a[5], "eps", &eps)) return NULL;
  if (napi_get_value_bool(env, a[6], &rms) != napi_ok) { fail(env, fn, "rms must be a boolean"); return NULL; }
  Arr x, w, b, out;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * d), "x", &x) || !get_arr(env, fn, a[1], F32, false, (size_t)d, "w", &w) ||
      !get_arr(env, fn, a[2], F32, true, (size_t)d, "b", &b) || !get_arr(env, fn, a[7], F32, false, (size_t)(rows * d), "out", &out))
    return NULL;
  row_norm(x.data, w.data, b.present ? b.data : NULL, rows, d, eps, rms ? 1 : 0, out.data);
  return NULL;
}

/* tokenLosses(logits, targets, B, S, V, out) */
static napi_value token_losses_js(napi_env env, napi_callback_info info) {
  const char *fn = "tokenLosses";
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 6) { fail(env, fn, "expected 6 arguments"); return NULL; }
  int64_t B, S, V;
  if (!get_int(env, fn, a[2], "B", &B) || !get_int(env, fn, a[3], "S", &S) || !get_int(env, fn, a[4], "V", &V)) return NULL;
  if (S < 2 || V < 1) { fail(env, fn, "expected S >= 2 and V >= 1"); return NULL; }
  Arr logits, targets, out;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * S * V), "logits", &logits) ||
      !get_arr(env, fn, a[1], I32, false, (size_t)(B * (S - 1)), "targets", &targets) ||
      !get_arr(env, fn, a[5], F32, false, (size_t)(B * (S - 1)), "out", &out))
    return NULL;
  token_losses(logits.data, targets.data, B, S, V, out.data);
  return NULL;
}

/* tokenLse(logits, rows, V, lse) */
static napi_value token_lse_js(napi_env env, napi_callback_info info) {
  const char *fn = "tokenLse";
  size_t argc = 4;
  napi_value a[4];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 4) { fail(env, fn, "expected 4 arguments"); return NULL; }
  int64_t rows, V;
  if (!get_int(env, fn, a[1], "rows", &rows) || !get_int(env, fn, a[2], "V", &V)) return NULL;
  Arr logits, lse;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * V), "logits", &logits) ||
      !get_arr(env, fn, a[3], F32, false, (size_t)rows, "lse", &lse))
    return NULL;
  token_lse(logits.data, rows, V, lse.data);
  return NULL;
}

/* rowTopK(x, rows, n, k, values, indices): whether it wrote them (false: a row holds a NaN, see row_topk.h). */
static napi_value row_topk_js(napi_env env, napi_callback_info info) {
  const char *fn = "rowTopK";
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 6) { fail(env, fn, "expected 6 arguments"); return NULL; }
  int64_t rows, n, k;
  if (!get_int(env, fn, a[1], "rows", &rows) || !get_int(env, fn, a[2], "n", &n) || !get_int(env, fn, a[3], "k", &k)) return NULL;
  if (k > n || k > ROW_TOPK_MAX_K) { fail(env, fn, "expected k <= n and k <= 256"); return NULL; }
  Arr x, val, idx;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * n), "x", &x) || !get_arr(env, fn, a[4], F32, false, (size_t)(rows * k), "values", &val) ||
      !get_arr(env, fn, a[5], I32, false, (size_t)(rows * k), "indices", &idx))
    return NULL;
  napi_value out;
  napi_get_boolean(env, row_topk(x.data, rows, n, k, val.data, idx.data) != 0, &out);
  return out;
}

/* adviseHugePages(arrayBuffer, bytes): asks the kernel for transparent huge pages over the buffer's memory and, past
 * its current end, up to `bytes` from its start (a wasm heap's reservation, which grows in place); returns the bytes
 * advised (0 where the system does not do it). Only a hint: the memory's contents and addresses do not change. */
static napi_value advise_huge_pages_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  void *data = NULL;
  size_t len = 0;
  int64_t want = 0;
  if (argc != 2 || napi_get_arraybuffer_info(env, a[0], &data, &len) != napi_ok || napi_get_value_int64(env, a[1], &want) != napi_ok) {
    fail(env, "adviseHugePages", "expected (ArrayBuffer, bytes)");
    return NULL;
  }
  const size_t total = want > (int64_t)len ? (size_t)want : len;
  double advised = (double)advise_huge_pages(data, total);
  napi_value out;
  napi_create_double(env, advised, &out);
  return out;
}

/* embedRows(W_E, vocab, ids, W_pos | null, posRows, pos0, B, S, d, out) → whether it ran (see embed_rows) */
static napi_value embed_rows_js(napi_env env, napi_callback_info info) {
  const char *fn = "embedRows";
  size_t argc = 10;
  napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 10) { fail(env, fn, "expected 10 arguments"); return NULL; }
  int64_t vocab, pos_rows, pos0, B, S, d;
  if (!get_int(env, fn, a[1], "vocab", &vocab) || !get_int(env, fn, a[4], "posRows", &pos_rows) || !get_int(env, fn, a[6], "B", &B) ||
      !get_int(env, fn, a[7], "S", &S) || !get_int(env, fn, a[8], "d", &d))
    return NULL;
  if (napi_get_value_int64(env, a[5], &pos0) != napi_ok || pos0 < 0) { fail(env, fn, "pos0 must be a non-negative integer"); return NULL; }
  Arr we, ids, wpos, out;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(vocab * d), "W_E", &we) || !get_arr(env, fn, a[2], I32, false, (size_t)(B * S), "ids", &ids) ||
      !get_arr(env, fn, a[3], F32, true, (size_t)(pos_rows * d), "W_pos", &wpos) ||
      !get_arr(env, fn, a[9], F32, false, (size_t)(B * S * d), "out", &out))
    return NULL;
  if (wpos.present && pos0 + S > pos_rows) { fail(env, fn, "positions pos0 + S run past W_pos's rows"); return NULL; }
  napi_value r;
  napi_get_boolean(env, embed_rows(we.data, vocab, (const int32_t *)ids.data, wpos.present ? wpos.data : NULL, pos0, B, S, d, out.data) != 0, &r);
  return r;
}

/* geluNew(x, n, out) → whether it ran (see gelu_new); out may be x */
static napi_value gelu_new_js(napi_env env, napi_callback_info info) {
  const char *fn = "geluNew";
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 3) { fail(env, fn, "expected 3 arguments"); return NULL; }
  int64_t n;
  if (!get_int(env, fn, a[1], "n", &n)) return NULL;
  Arr x, out;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)n, "x", &x) || !get_arr(env, fn, a[2], F32, false, (size_t)n, "out", &out)) return NULL;
  napi_value r;
  napi_get_boolean(env, gelu_new(x.data, n, out.data) != 0, &r);
  return r;
}

/* alignmentOffset(typedArray, align) → the bytes from the start of its view to the next multiple of `align` (a power
 * of two) in memory: where a view aligned for direct I/O can begin. */
static napi_value alignment_offset_js(napi_env env, napi_callback_info info) {
  const char *fn = "alignmentOffset";
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 2) { fail(env, fn, "expected 2 arguments"); return NULL; }
  int64_t align;
  if (!get_int(env, fn, a[1], "align", &align)) return NULL;
  if (align & (align - 1)) { fail(env, fn, "align must be a power of two"); return NULL; }
  bool is_ta = false;
  napi_is_typedarray(env, a[0], &is_ta);
  if (!is_ta) { fail(env, fn, "expected a typed array"); return NULL; }
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, a[0], &type, &length, &data, NULL, NULL) != napi_ok) { fail(env, fn, "cannot read a typed array"); return NULL; }
  napi_value out;
  napi_create_int64(env, (int64_t)((uint64_t)(-(intptr_t)data) & (uint64_t)(align - 1)), &out);
  return out;
}

/* broadcastRows(row, rows, out): out holds `rows` copies of row */
static napi_value broadcast_rows_js(napi_env env, napi_callback_info info) {
  const char *fn = "broadcastRows";
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 3) { fail(env, fn, "expected 3 arguments"); return NULL; }
  int64_t rows;
  bool is_ta = false;
  napi_is_typedarray(env, a[0], &is_ta);
  if (!is_ta || !get_int(env, fn, a[1], "rows", &rows)) { if (!is_ta) fail(env, fn, "row must be a Float32Array"); return NULL; }
  napi_typedarray_type type;
  size_t n;
  void *data;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, a[0], &type, &n, &data, &ab, &offset);
  Arr row, out;
  if (!get_arr(env, fn, a[0], F32, false, n, "row", &row) || !get_arr(env, fn, a[2], F32, false, n * (size_t)rows, "out", &out)) return NULL;
  broadcast_rows(row.data, (int64_t)n, rows, out.data);
  return NULL;
}

/* causalAttentionAvailable(dh): whether causal_attention runs here for heads of dh */
static napi_value causal_attention_available_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int64_t dh = 0;
  if (argc != 1 || napi_get_value_int64(env, a[0], &dh) != napi_ok) { fail(env, "causalAttentionAvailable", "expected dh"); return NULL; }
  napi_value out;
  napi_get_boolean(env, causal_attention_available(dh) != 0, &out);
  return out;
}

/* causalAttention(q, k, v, B, S, H, Kh, dh, window, scale, z) → whether it ran (see causal_attention) */
static napi_value causal_attention_js(napi_env env, napi_callback_info info) {
  const char *fn = "causalAttention";
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 11) { fail(env, fn, "expected 11 arguments"); return NULL; }
  int64_t B, S, H, Kh, dh, window = 0;
  float scale;
  if (!get_int(env, fn, a[3], "B", &B) || !get_int(env, fn, a[4], "S", &S) || !get_int(env, fn, a[5], "H", &H) || !get_int(env, fn, a[6], "Kh", &Kh) ||
      !get_int(env, fn, a[7], "dh", &dh) || !get_float(env, fn, a[9], "scale", &scale))
    return NULL;
  if (napi_get_value_int64(env, a[8], &window) != napi_ok || window < 0) { fail(env, fn, "window must be a non-negative integer"); return NULL; }
  Arr q, k, v, z;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(B * S * H * dh), "q", &q) || !get_arr(env, fn, a[1], F32, false, (size_t)(B * S * Kh * dh), "k", &k) ||
      !get_arr(env, fn, a[2], F32, false, (size_t)(B * S * Kh * dh), "v", &v) || !get_arr(env, fn, a[10], F32, false, (size_t)(B * S * H * dh), "z", &z))
    return NULL;
  napi_value out;
  napi_get_boolean(env, causal_attention(q.data, k.data, v.data, B, S, H, Kh, dh, window, scale, z.data) != 0, &out);
  return out;
}

/* rowSqErr(a, b, rows, d, out[, residual | null]): out[r] = Σ_j (a − b)²; residual (when given) = a − b */
static napi_value row_sq_err_js(napi_env env, napi_callback_info info) {
  const char *fn = "rowSqErr";
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 5 && argc != 6) { fail(env, fn, "expected 5 or 6 arguments"); return NULL; }
  int64_t rows, d;
  if (!get_int(env, fn, a[2], "rows", &rows) || !get_int(env, fn, a[3], "d", &d)) return NULL;
  Arr x, y, out, e = {0};
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * d), "a", &x) || !get_arr(env, fn, a[1], F32, false, (size_t)(rows * d), "b", &y) ||
      !get_arr(env, fn, a[4], F32, false, (size_t)rows, "out", &out) || (argc == 6 && !get_arr(env, fn, a[5], F32, true, (size_t)(rows * d), "residual", &e)))
    return NULL;
  row_sq_err(x.data, y.data, rows, d, out.data, e.present ? e.data : NULL);
  return NULL;
}

/* rowSqErrGradFromResidual(residual, dy, rows, d, da | null, db | null): rowSqErrGrad's results from a − b */
static napi_value row_sq_err_grad_residual_js(napi_env env, napi_callback_info info) {
  const char *fn = "rowSqErrGradFromResidual";
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 6) { fail(env, fn, "expected 6 arguments"); return NULL; }
  int64_t rows, d;
  if (!get_int(env, fn, a[2], "rows", &rows) || !get_int(env, fn, a[3], "d", &d)) return NULL;
  Arr e, dy, da, db;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * d), "residual", &e) || !get_arr(env, fn, a[1], F32, false, (size_t)rows, "dy", &dy) ||
      !get_arr(env, fn, a[4], F32, true, (size_t)(rows * d), "da", &da) || !get_arr(env, fn, a[5], F32, true, (size_t)(rows * d), "db", &db))
    return NULL;
  row_sq_err_grad_from_residual(e.data, dy.data, rows, d, da.present ? da.data : NULL, db.present ? db.data : NULL);
  return NULL;
}

/* rowSqErrGrad(a, b, dy, rows, d, da | null, db | null) */
static napi_value row_sq_err_grad_js(napi_env env, napi_callback_info info) {
  const char *fn = "rowSqErrGrad";
  size_t argc = 7;
  napi_value a[7];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 7) { fail(env, fn, "expected 7 arguments"); return NULL; }
  int64_t rows, d;
  if (!get_int(env, fn, a[3], "rows", &rows) || !get_int(env, fn, a[4], "d", &d)) return NULL;
  Arr x, y, dy, da, db;
  if (!get_arr(env, fn, a[0], F32, false, (size_t)(rows * d), "a", &x) || !get_arr(env, fn, a[1], F32, false, (size_t)(rows * d), "b", &y) ||
      !get_arr(env, fn, a[2], F32, false, (size_t)rows, "dy", &dy) || !get_arr(env, fn, a[5], F32, true, (size_t)(rows * d), "da", &da) ||
      !get_arr(env, fn, a[6], F32, true, (size_t)(rows * d), "db", &db))
    return NULL;
  row_sq_err_grad(x.data, y.data, dy.data, rows, d, da.present ? da.data : NULL, db.present ? db.data : NULL);
  return NULL;
}

/* unitRows(g | null, w, rows, d, out): with g, out = g − (g·w) w per row; without, out = w / ‖w‖. */
static napi_value unit_rows_js(napi_env env, napi_callback_info info) {
  const char *fn = "unitRows";
  size_t argc = 5;
  napi_value a[5];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 5) { fail(env, fn, "expected 5 arguments"); return NULL; }
  int64_t rows, d;
  if (!get_int(env, fn, a[2], "rows", &rows) || !get_int(env, fn, a[3], "d", &d)) return NULL;
  Arr g, w, out;
  if (!get_arr(env, fn, a[0], F32, true, (size_t)(rows * d), "g", &g) || !get_arr(env, fn, a[1], F32, false, (size_t)(rows * d), "w", &w) ||
      !get_arr(env, fn, a[4], F32, false, (size_t)(rows * d), "out", &out))
    return NULL;
  unit_rows(g.present ? g.data : NULL, w.data, rows, d, g.present ? 1 : 0, out.data);
  return NULL;
}

/* topkScreening(on?: boolean): whether the screened encoder runs (AVX-512 VNNI present and not switched off);
 * with an argument, switches it on or off first (tests compare it with the sgemm path). */
static napi_value topk_screening_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc >= 1) {
    napi_valuetype vt;
    napi_typeof(env, a[0], &vt);
    if (vt != napi_undefined) {
      bool on;
      if (napi_get_value_bool(env, a[0], &on) != napi_ok) { fail(env, "topkScreening", "on must be a boolean"); return NULL; }
      topk_screen_set_enabled(on ? 1 : 0);
    }
  }
  napi_value out;
  napi_get_boolean(env, topk_screen_active() != 0, &out);
  return out;
}

/* topkScreenStats(): the screen's counters since the last call, then reset: [calls, tokens, candidates, tokens
 * that gave up screening, prunes, last trigger] (benchmarks read them). */
static napi_value topk_screen_stats_js(napi_env env, napi_callback_info info) {
  (void)info;
  int64_t st[6];
  topk_screen_stats(st);
  napi_value out;
  napi_create_array_with_length(env, 6, &out);
  for (uint32_t i = 0; i < 6; i++) {
    napi_value v;
    napi_create_double(env, (double)st[i], &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

napi_status register_sparse_topk(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"topkEncode", NULL, topk_encode, NULL, NULL, NULL, napi_default, NULL},
    {"topkDecode", NULL, topk_decode, NULL, NULL, NULL, napi_default, NULL},
    {"topkBackward", NULL, topk_backward, NULL, NULL, NULL, napi_default, NULL},
    {"topkDecodeResidual", NULL, topk_decode_residual, NULL, NULL, NULL, napi_default, NULL},
    {"topkBackwardAdam", NULL, topk_backward_adam, NULL, NULL, NULL, napi_default, NULL},
    {"adamUpdate", NULL, adam_update_js, NULL, NULL, NULL, napi_default, NULL},
    {"rowNorm", NULL, row_norm_js, NULL, NULL, NULL, napi_default, NULL},
    {"tokenLosses", NULL, token_losses_js, NULL, NULL, NULL, napi_default, NULL},
    {"tokenLse", NULL, token_lse_js, NULL, NULL, NULL, napi_default, NULL},
    {"rowTopK", NULL, row_topk_js, NULL, NULL, NULL, napi_default, NULL},
    {"causalAttention", NULL, causal_attention_js, NULL, NULL, NULL, napi_default, NULL},
    {"geluNew", NULL, gelu_new_js, NULL, NULL, NULL, napi_default, NULL},
    {"embedRows", NULL, embed_rows_js, NULL, NULL, NULL, napi_default, NULL},
    {"alignmentOffset", NULL, alignment_offset_js, NULL, NULL, NULL, napi_default, NULL},
    {"broadcastRows", NULL, broadcast_rows_js, NULL, NULL, NULL, napi_default, NULL},
    {"adviseHugePages", NULL, advise_huge_pages_js, NULL, NULL, NULL, napi_default, NULL},
    {"causalAttentionAvailable", NULL, causal_attention_available_js, NULL, NULL, NULL, napi_default, NULL},
    {"rowSqErr", NULL, row_sq_err_js, NULL, NULL, NULL, napi_default, NULL},
    {"rowSqErrGrad", NULL, row_sq_err_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"rowSqErrGradFromResidual", NULL, row_sq_err_grad_residual_js, NULL, NULL, NULL, napi_default, NULL},
    {"unitRows", NULL, unit_rows_js, NULL, NULL, NULL, napi_default, NULL},
    {"topkScreening", NULL, topk_screening_js, NULL, NULL, NULL, napi_default, NULL},
    {"topkScreenStats", NULL, topk_screen_stats_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
