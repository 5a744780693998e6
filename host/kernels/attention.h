// attention's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_ATTENTION_H
#define VKLLM_KERNELS_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/context.h"

// The variant name for M queries of head dimension D over an f32 or f16 cache on this device.
// Where the device prefers texel reads and D % 8 == 0: the texel kernels (prefill_texel,
// decode_texel). Else, for a batch, prefill_tiled where D % 4 == 0 and D <= 128, flash-style
// prefill otherwise; for one query, decode_lanes where D >= 64 and D % 4 == 0, decode otherwise.
const char *vkl_attention_variant(const vkl_device_info *info, uint32_t M, uint32_t D, bool f16_cache);
// Most chunks any decode variant splits `context` keys into: the partials buffer holds this many
// per head.
uint32_t vkl_attention_max_chunks(uint32_t context);

// The error bound of one query's attention output o (Dv) = softmax(scale q . k_i) v_i over n
// keys, computed in f32 by a flash-style kernel that rescales its running sums once per `tile`
// keys (decode: also merges chunks), as derived in host/kernels/attention.c. q (Dk) · k (n rows
// of k_stride, Dk used) · v (n rows of v_stride, Dv used) · scores, eps: n doubles of scratch.
void vkl_attention_bound(double *bound, const float *o, const float *q, const float *k, uint32_t k_stride,
                         const float *v, uint32_t v_stride, uint32_t n, uint32_t Dk, uint32_t Dv, double scale,
                         uint32_t tile, bool decode, double *scores, double *eps);

#endif
