// Row gathers for the activation batches (row_gather.c).
#ifndef SAE_ROW_GATHER_H
#define SAE_ROW_GATHER_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dst rows [at, at + count) <- src rows order[from + i] (from + i without an order), rows of `width` 4-byte
 * elements; float rows are multiplied by `scale` unless it is 1. */
void gather_rows(const void *src, void *dst, size_t width, const int32_t *order, size_t from, size_t at, size_t count,
                 bool is_float, float scale);

napi_status register_row_gather(napi_env env, napi_value exports);

#endif
