// head_matmul's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_HEAD_MATMUL_H
#define VKLLM_KERNELS_HEAD_MATMUL_H

#include "host/kernel.h"
#include "runtime/context.h"

// The variant for f32 or f16 weights with K % 4 == 0 (texels where the device prefers them), or
// NULL for other types and widths.
const char *vkl_head_matmul_variant(const vkl_device_info *info, vkl_dtype dtype, uint32_t K);

#endif
