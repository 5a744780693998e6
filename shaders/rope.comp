#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE (see rope.h).
//   adjacent, neox: one invocation per rotated pair, storage buffers;
//   texel_adjacent, texel_neox (CPU devices; D % 4 == 0, R % 8 == 0): one invocation per token
//     and four pairs, over every head; q, k and the table read as RGBA32UI texels (llvmpipe
//     fetches those about 25x faster than storage buffers); q and k are written through
//     bindings 4 and 5, storage views of the same buffers (each invocation reads its elements
//     before it writes them).
//! variant adjacent
//! variant neox -DROPE_NEOX
//! variant texel_adjacent -DTEXEL
//! variant texel_neox -DTEXEL -DROPE_NEOX
#include "rope.h"
#include "grid.glsl"

layout(local_size_x = ROPE_WG) in;
layout(binding = 2) readonly buffer Pos { uint pos[]; };
#ifdef TEXEL
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer q_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer k_texels;
layout(binding = 3, rgba32ui) uniform readonly uimageBuffer table_texels;
layout(binding = 4) writeonly buffer QOut { vec4 q_out[]; };
layout(binding = 5) writeonly buffer KOut { vec4 k_out[]; };

// Rotates pairs (a[c], b[c]) by the angles whose (cos, sin) are cs[c], c = 0..3.
void rotate4(inout vec4 a, inout vec4 b, vec4 cs01, vec4 cs23)
{
    vec4 c = vec4(cs01.x, cs01.z, cs23.x, cs23.z), s = vec4(cs01.y, cs01.w, cs23.y, cs23.w);
    vec4 ra = a * c - b * s, rb = a * s + b * c;
    a = ra;
    b = rb;
}

// Texels ta and tb of one head hold its pairs 4j .. 4j + 3: rotated in registers.
void rotate_texels(inout vec4 va, inout vec4 vb, vec4 cs01, vec4 cs23)
{
#ifdef ROPE_NEOX
    rotate4(va, vb, cs01, cs23);
#else
    vec4 a = vec4(va.x, va.z, vb.x, vb.z), b = vec4(va.y, va.w, vb.y, vb.w);  // de-interleave
    rotate4(a, b, cs01, cs23);
    va = vec4(a.x, b.x, a.y, b.y);
    vb = vec4(a.z, b.z, a.w, b.w);
#endif
}

// An invocation per token and quad of pairs j, over all its heads: the angles are fetched once.
void main()
{
    uint quads = pc.R / 8u;
    uint item = grid_index(pc.groups_x, ROPE_WG);
    if (item >= pc.M * quads) return;
    uint j = item % quads, m = item / quads;
    uint p = pos[0] + m;
    if (p >= pc.table_rows) return;  // the host refuses such dispatches; never read past the table
    uint t = (p * (pc.R / 2u) + 4u * j) / 2u;  // table texel of pairs 4j, 4j + 1
    vec4 cs01 = uintBitsToFloat(imageLoad(table_texels, int(t)));
    vec4 cs23 = uintBitsToFloat(imageLoad(table_texels, int(t + 1u)));
#ifdef ROPE_NEOX
    uint ta = j, tb = j + pc.R / 8u;  // within a head: elements 4j .. and R/2 + 4j ..
#else
    uint ta = 2u * j, tb = ta + 1u;   // within a head: elements 8j .. 8j + 7
#endif
    uint head_texels = pc.D / 4u;
    for (uint h = 0; h < pc.H; h++) {
        uint base = (m * pc.H + h) * head_texels;
        vec4 va = uintBitsToFloat(imageLoad(q_texels, int(base + ta)));
        vec4 vb = uintBitsToFloat(imageLoad(q_texels, int(base + tb)));
        rotate_texels(va, vb, cs01, cs23);
        q_out[base + ta] = va;
        q_out[base + tb] = vb;
    }
    for (uint h = 0; h < pc.KVH; h++) {
        uint base = (m * pc.KVH + h) * head_texels;
        vec4 va = uintBitsToFloat(imageLoad(k_texels, int(base + ta)));
        vec4 vb = uintBitsToFloat(imageLoad(k_texels, int(base + tb)));
        rotate_texels(va, vb, cs01, cs23);
        k_out[base + ta] = va;
        k_out[base + tb] = vb;
    }
}
#else
layout(binding = 0) buffer Q { float q[]; };
layout(binding = 1) buffer K { float k[]; };
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
#endif
