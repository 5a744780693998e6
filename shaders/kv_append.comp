#version 450
#extension GL_GOOGLE_include_directive : require
// KV-cache append, one invocation per pair of elements (a whole f16 word).
//! variant f32
//! variant f16 -DCACHE_F16
#include "kv_append.h"
#include "grid.glsl"

layout(local_size_x = KV_APPEND_WG) in;
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
layout(binding = 4) readonly buffer Pos { uint pos[]; };

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
