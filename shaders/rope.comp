#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE, one invocation per rotated pair.
//! variant adjacent
//! variant neox -DROPE_NEOX
#include "rope.h"
#include "grid.glsl"

layout(local_size_x = ROPE_WG) in;
layout(binding = 0) buffer Q { float q[]; };
layout(binding = 1) buffer K { float k[]; };
layout(binding = 2) readonly buffer Pos { uint pos[]; };
layout(binding = 3) readonly buffer Table { vec2 table[]; };

void main()
{
    uint half_r = pc.R / 2u, heads = pc.H + pc.KVH;
    uint item = grid_index(pc.groups_x, ROPE_WG);
    if (item >= pc.M * heads * half_r) return;
    uint i = item % half_r, head = (item / half_r) % heads, m = item / (half_r * heads);
    uint p = pos[0] + m;
    if (p >= pc.table_rows) return;  // the host refuses such dispatches; never read past the table
#ifdef ROPE_NEOX
    uint a = i, b = i + half_r;
#else
    uint a = 2u * i, b = 2u * i + 1u;
#endif
    vec2 cs = table[p * half_r + i];
    if (head < pc.H) {
        uint base = (m * pc.H + head) * pc.D;
        float va = q[base + a], vb = q[base + b];
        q[base + a] = va * cs.x - vb * cs.y;
        q[base + b] = va * cs.y + vb * cs.x;
    } else {
        uint base = (m * pc.KVH + head - pc.H) * pc.D;
        float va = k[base + a], vb = k[base + b];
        k[base + a] = va * cs.x - vb * cs.y;
        k[base + b] = va * cs.y + vb * cs.x;
    }
}
