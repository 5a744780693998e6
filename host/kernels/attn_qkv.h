// attn_qkv's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_ATTN_QKV_H
#define VKLLM_KERNELS_ATTN_QKV_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kernel.h"
#include "runtime/context.h"

// The variant for one row of x (K wide) projected to N query and n_kv key and value rows in
// heads of head_dim, or NULL where the fused kernel does not apply (a batch, row counts not
// multiples of 8, odd heads, NeoX rotation, rows not on 16-byte vectors or not whole blocks of a
// quantized format, f32 weights on a device that reads through storage buffers): then run rms_norm, three matmuls, rope and
// kv_append.
const char *vkl_attn_qkv_variant(const vkl_device_info *info, uint32_t M, uint32_t N, uint32_t n_kv, uint32_t K,
                                 uint32_t head_dim, bool neox, vkl_dtype weights);

#endif
