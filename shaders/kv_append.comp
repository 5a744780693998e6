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

void main()
{
    uint row_texels = pc.row / 4u, texels = pc.M * row_texels;
    uint first = grid_index(pc.groups_x, KV_APPEND_WG) * KV_APPEND_TEXELS;
    if (first >= texels) return;
    // One division per invocation: llvmpipe divides lane by lane, which cost more than the copy.
    uint p = pos[0] + first / row_texels, j = first % row_texels;
    [[unroll]] for (uint i = 0; i < KV_APPEND_TEXELS; i++) {
        uint t = first + i;
        if (t < texels && p < pc.capacity) {
            uint at = p * row_texels + j;
            k_cache[at] = STORE(uintBitsToFloat(imageLoad(k_texels, int(t))));
            v_cache[at] = STORE(uintBitsToFloat(imageLoad(v_texels, int(t))));
        }
        if (++j == row_texels) {  // the next texel starts the next token's row
            j = 0u;
            p++;
        }
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

void main()
{
    uint half_row = pc.row / 2u;
    uint item = grid_index(pc.groups_x, KV_APPEND_WG);
    if (item >= pc.M * half_row) return;
    uint m = item / half_row, j = item % half_row, p = pos[0] + m;
    if (p >= pc.capacity) return;
    k_cache[p * half_row + j] = STORE(k_new[item]);
    v_cache[p * half_row + j] = STORE(v_new[item]);
}
#endif
