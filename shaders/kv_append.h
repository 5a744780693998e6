// kv_append: write the K and V rows of M new tokens into one layer's cache at positions
// p0 .. p0+M-1, p0 = pos[0] read from a device buffer.
// Cache layout, per layer: k_cache is (capacity, KVH, D) and v_cache (capacity, KVH, DV),
// row-major: the K row of position p starts at element p * KVH * D. DV is D for attention
// heads; multi-head latent attention (DeepSeek-V2) appends its latent as "K" and its RoPE key,
// narrower, as "V". f32, or f16 packed two per 32-bit word (rows are even because heads are).
// The host refuses an append past capacity before dispatching (vkl_kv_append_fits); the
// shader also never writes past it.
// Bindings: 0 k_new (M, KVH*D) f32 · 1 v_new (M, KVH*DV) f32 · 2 k_cache · 3 v_cache · 4 pos (1) u32.
#ifndef VKLLM_KV_APPEND_H
#define VKLLM_KV_APPEND_H

#include "push.h"

#define KV_APPEND_WG 256u
#define KV_APPEND_TEXELS 4u  // texel variants: consecutive 16-byte texels per invocation

PUSH_CONSTANTS(kv_append_push)
{
    uint32_t M;         // new tokens
    uint32_t row;       // KVH * D elements per position in k_cache
    uint32_t v_row;     // KVH * DV elements per position in v_cache
    uint32_t capacity;  // positions in the cache
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
