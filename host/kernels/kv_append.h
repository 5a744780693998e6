// kv_append's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_KV_APPEND_H
#define VKLLM_KERNELS_KV_APPEND_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/context.h"

// The variant for K rows of `row` and V rows of `v_row` elements into an f32 or f16 cache: the
// texel twin where the device prefers texel reads and both are whole texels (% 4), else the
// storage-buffer one.
const char *vkl_kv_append_variant(const vkl_device_info *info, uint32_t row, uint32_t v_row, bool f16_cache);

#endif
