#version 450
#extension GL_GOOGLE_include_directive : require
// A matrix per head (see head_matmul.h).
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant texel_f32 -DWEIGHT_TEXEL -DTEXEL
//! variant texel_f16 -DWEIGHT_TEXEL -DTEXEL -DWEIGHT_F16
#include "head_matmul.h"
#include "grid.glsl"
#include "weights.glsl"

layout(local_size_x = HEAD_MATMUL_WG) in;
layout(binding = 0) readonly buffer X { vec4 x[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

// Weights 4v .. 4v + 3.
vec4 weight4(uint v)
{
#if defined(TEXEL) && defined(WEIGHT_F16)
    uvec4 t = imageLoad(w_texels, int(v / 2u));
    uvec2 words = (v & 1u) == 0u ? t.xy : t.zw;
    return vec4(unpackHalf2x16(words.x), unpackHalf2x16(words.y));
#elif defined(TEXEL)
    return uintBitsToFloat(imageLoad(w_texels, int(v)));
#elif defined(WEIGHT_F16)
    return vec4(unpackHalf2x16(w[2u * v]), unpackHalf2x16(w[2u * v + 1u]));
#else
    return w4[v];
#endif
}

void main()
{
    uint item = grid_index(pc.groups_x, HEAD_MATMUL_WG);
    if (item >= pc.M * pc.H * pc.N) return;
    uint n = item % pc.N, mh = item / pc.N, h = mh % pc.H, k4 = pc.K / 4u;
    uint xs = mh * k4, ws = (h * pc.N + n) * k4;
    vec4 acc = vec4(0.0);
    for (uint k = 0; k < k4; k++) acc += weight4(ws + k) * x[xs + k];
    y[item] = (acc.x + acc.y) + (acc.z + acc.w);
}
