#version 450
#extension GL_GOOGLE_include_directive : require
// MoE combine: out[t, d] = sum_j weights[t, j] * y[inv[t*k + j], d], one invocation per
// output element, slots in order. See moe.h.
// Bindings: 0 y (T*k, D) f32, permuted rows · 1 weights (T, k) f32 · 2 inv (T*k) u32 ·
// 3 out (T, D) f32.
#include "moe.h"
#include "grid.glsl"

layout(local_size_x = MOE_WG) in;
layout(binding = 0) readonly buffer Y { float y[]; };
layout(binding = 1) readonly buffer Weights { float weights[]; };
layout(binding = 2) readonly buffer Inv { uint inv[]; };
layout(binding = 3) writeonly buffer Out { float result[]; };

void main()
{
    uint item = grid_index(pc.groups_x, MOE_WG);
    if (item >= pc.T * pc.D) return;
    uint t = item / pc.D, d = item % pc.D;
    float acc = 0.0;
    for (uint j = 0u; j < pc.k; j++) acc = fma(weights[t * pc.k + j], y[inv[t * pc.k + j] * pc.D + d], acc);
    result[item] = acc;
}
