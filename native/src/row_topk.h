/* The k largest of each row, in tfjs-backend-wasm's TopK order (see row_topk.c). */
#ifndef SAE_ROW_TOPK_H
#define SAE_ROW_TOPK_H
#include <stdint.h>

/* For each of `rows` rows of n floats: the k largest values, descending, and their column indices, values[r·k +
 * i], indices[r·k + i], equal values by ascending index. Returns 0 (outputs partly written, to be discarded) when a
 * row holds a NaN, where tfjs's order is undefined; 1 otherwise. Needs 1 <= k <= min(n, ROW_TOPK_MAX_K). */
#define ROW_TOPK_MAX_K 256
int row_topk(const float *x, int64_t rows, int64_t n, int64_t k, float *values, int32_t *indices);
#endif
