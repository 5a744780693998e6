#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// KV-cache append (see kv_append.h).
//   f32, f16: one invocation per pair of elements (a whole f16 word), storage buffers;
//   texel_f32, texel_f16 (CPU devices; row % 4 == 0): k_new and v_new read as RGBA32UI texels
//     (llvmpipe fetches those about 25x faster than storage buffers), KV_APPEND_TEXELS
//     consecutive texels per invocation.
//! variant f32
//! variant f16 -DCACHE_F16
//! variant texel_f32 -DTEXEL
//! variant texel_f16 -DTEXEL -DCACHE_F16
#include "kv_append.h"
#include "grid.glsl"

layout(local_size_x = KV_APPEND_WG) in;
layout(binding = 4) readonly buffer Pos { uint pos[]; };
#ifdef TEXEL
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer k_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer v_texels;
#ifdef CACHE_F16
layout(binding = 2) writeonly buffer KCache { uvec2 k_cache[]; };
layout(binding = 3) writeonly buffer VCache { uvec2 v_cache[]; };
#define STORE(v) uvec2(packHalf2x16(v.xy), packHalf2x16(v.zw))
#else
layout(binding = 2) writeonly buffer KCache { vec4 k_cache[]; };
layout(binding = 3) writeonly buffer VCache { vec4 v_cache[]; };
#define STORE(v) (v)
#endif

// KV_APPEND_TEXELS texels of one cache from invocation `g` of its part of the grid.
#define APPEND_TEXELS(src, cache, row)                                                           \
    {                                                                                              \
        uint row_texels = (row) / 4u, texels = pc.M * row_texels, first = (g) * KV_APPEND_TEXELS;  \
        /* One division per invocation: llvmpipe divides lane by lane, which cost more than the   \
           copy. */                                                                                \
        uint p = pos[0] + first / row_texels, j = first % row_texels;                              \
        [[unroll]] for (uint i = 0; i < KV_APPEND_TEXELS; i++) {                                   \
            uint t = first + i;                                                                    \
            if (t < texels && p < pc.capacity)                                                     \
                cache[p * row_texels + j] = STORE(uintBitsToFloat(imageLoad(src, int(t))));        \
            if (++j == row_texels) { /* the next texel starts the next token's row */              \
                j = 0u;                                                                            \
                p++;                                                                               \
            }                                                                                      \
        }                                                                                          \
    }

// The grid's first invocations copy K rows, the rest V rows (narrower in MLA).
void main()
{
    uint item = grid_index(pc.groups_x, KV_APPEND_WG);
    uint k_items = (pc.M * (pc.row / 4u) + KV_APPEND_TEXELS - 1u) / KV_APPEND_TEXELS;
    uint v_items = (pc.M * (pc.v_row / 4u) + KV_APPEND_TEXELS - 1u) / KV_APPEND_TEXELS;
    if (item < k_items) {
        uint g = item;
        APPEND_TEXELS(k_texels, k_cache, pc.row)
    } else if (item < k_items + v_items) {
        uint g = item - k_items;
        APPEND_TEXELS(v_texels, v_cache, pc.v_row)
    }
}
#else
layout(binding = 0) readonly buffer KNew { vec2 k_new[]; };
layout(binding = 1) readonly buffer VNew { vec2 v_new[]; };
#ifdef CACHE_F16
layout(binding = 2) writeonly buffer KCache { uint k_cache[]; };
layout(binding = 3) writeonly buffer VCache { uint v_cache[]; };
#define STORE(v) packHalf2x16(v)
#else
layout(binding = 2) writeonly buffer KCache { vec2 k_cache[]; };
layout(binding = 3) writeonly buffer VCache { vec2 v_cache[]; };
#define STORE(v) (v)
#endif

// One invocation per pair of elements: K pairs first, then V pairs.
void main()
{
    uint half_k = pc.row / 2u, half_v = pc.v_row / 2u;
    uint item = grid_index(pc.groups_x, KV_APPEND_WG);
    if (item < pc.M * half_k) {
        uint p = pos[0] + item / half_k;
        if (p < pc.capacity) k_cache[p * half_k + item % half_k] = STORE(k_new[item]);
    } else if (item < pc.M * (half_k + half_v)) {
        uint i = item - pc.M * half_k, p = pos[0] + i / half_v;
        if (p < pc.capacity) v_cache[p * half_v + i % half_v] = STORE(v_new[i]);
    }
}
#endif
