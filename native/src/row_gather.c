// Row gathers for the activation batches (activations/group-batcher.ts, the trainer's batch upload): a batch is
// 4096 rows picked from a shuffled group of ~100 MB, one memcpy each here instead of a subarray and a set per row
// in JavaScript, and the trainer's copy into tensor memory takes the dataset scale on the way (the same float32
// multiply tf.mul does). Arguments are typed arrays (never copied) and integers, checked before any row is moved.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "row_gather.h"

/* Rows ahead whose first cache lines are requested while the current one is copied (the order is random). */
#define PREFETCH_AHEAD 4

void gather_rows(const void *src, void *dst, size_t width, const int32_t *order, size_t from, size_t at, size_t count,
                 bool is_float, float scale) {
  const size_t row_bytes = width * 4;
  for (size_t i = 0; i < count; i++) {
    const size_t r = order ? (size_t)order[from + i] : from + i;
    if (order && i + PREFETCH_AHEAD < count) {
      const char *ahead = (const char *)src + (size_t)order[from + i + PREFETCH_AHEAD] * row_bytes;
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
    }
    if (!is_float || scale == 1.0f) {
      memcpy((char *)dst + (at + i) * row_bytes, (const char *)src + r * row_bytes, row_bytes);
    } else {
      const float *s = (const float *)src + r * width;
      float *o = (float *)dst + (at + i) * width;
      for (size_t j = 0; j < width; j++) o[j] = s[j] * scale;
    }
  }
}

static napi_value fail(napi_env env, const char *msg) {
  char buf[256];
  snprintf(buf, sizeof buf, "gatherRows: %s", msg);
  napi_throw_range_error(env, NULL, buf);
  return NULL;
}

typedef struct {
  void *data;
  size_t length;
  napi_typedarray_type type;
} View;

static bool typed(napi_env env, napi_value v, View *out) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_value ab;
  size_t offset;
  return is_ta && napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &offset) == napi_ok;
}

static bool nonneg(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok && *out >= 0;
}

/* gatherRows(src, dst, width, order | null, from, at, count, scale): dst rows [at, at + count) ← src rows
 * order[from + i] (from + i without an order), rows of `width` elements; src and dst both Float32Array (each value
 * times the float32 `scale`, exactly when it is 1) or both Int32Array (scale must be 1). */
static napi_value gather_rows_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 8) return fail(env, "expected 8 arguments");
  View src, dst, ord = {0};
  if (!typed(env, a[0], &src) || !typed(env, a[1], &dst)) return fail(env, "src and dst must be typed arrays");
  const bool is_float = src.type == napi_float32_array;
  if (src.type != dst.type || (!is_float && src.type != napi_int32_array))
    return fail(env, "src and dst must both be Float32Array or both Int32Array");
  int64_t width, from, at, count;
  double scale_d;
  if (!nonneg(env, a[2], &width) || width == 0 || !nonneg(env, a[4], &from) || !nonneg(env, a[5], &at) ||
      !nonneg(env, a[6], &count))
    return fail(env, "width must be a positive integer; from, at and count integers >= 0");
  if (napi_get_value_double(env, a[7], &scale_d) != napi_ok) return fail(env, "scale must be a number");
  const float scale = (float)scale_d;
  if (!is_float && scale != 1.0f) return fail(env, "an Int32Array is copied unscaled (scale 1)");
  napi_valuetype vt;
  napi_typeof(env, a[3], &vt);
  const bool has_order = vt != napi_null && vt != napi_undefined;
  if (has_order && (!typed(env, a[3], &ord) || ord.type != napi_int32_array))
    return fail(env, "order must be an Int32Array or null");
  const size_t src_rows = src.length / (size_t)width;
  if ((size_t)(at + count) * (size_t)width > dst.length) return fail(env, "dst is too short for rows [at, at + count)");
  if (has_order) {
    if ((size_t)(from + count) > ord.length) return fail(env, "order is too short for [from, from + count)");
    const int32_t *o = ord.data;
    for (int64_t i = from; i < from + count; i++)
      if (o[i] < 0 || (size_t)o[i] >= src_rows) return fail(env, "order names a row outside src");
  } else if ((size_t)(from + count) > src_rows) {
    return fail(env, "src is too short for rows [from, from + count)");
  }
  gather_rows(src.data, dst.data, (size_t)width, has_order ? ord.data : NULL, (size_t)from, (size_t)at, (size_t)count,
              is_float, scale);
  return NULL;
}

napi_status register_row_gather(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gatherRows", NULL, gather_rows_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
