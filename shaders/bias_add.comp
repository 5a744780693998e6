#version 450
#extension GL_GOOGLE_include_directive : require
// A linear layer's bias on every row: y (M, N) = x (M, N) + b (N). Bindings: 0 x · 1 b · 2 y,
// f32; y may alias x (each invocation reads its element before writing it). One invocation
// per element.
//! variant default
#include "bias_add.h"
#include "grid.glsl"

layout(local_size_x = BIAS_ADD_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint i = grid_index(pc.groups_x, BIAS_ADD_WG);
    if (i < pc.M * pc.N) y[i] = x[i] + b[i % pc.N];
}
