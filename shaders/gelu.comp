#version 450
#extension GL_GOOGLE_include_directive : require
// GELU, tanh approximation (GPT-2): y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Bindings: 0 x (n) · 1 y (n), f32.
#include "elementwise.h"
#include "grid.glsl"

layout(local_size_x = ELEMENTWISE_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

// tanh as 1 - 2 / (exp(2z) + 1): stable at both ends, and its error follows from exp's
// documented precision (GLSL's tanh has none of its own). |z| <= 10 keeps exp finite;
// tanh(10) rounds to 1 in f32 anyway.
float tanh_stable(float z)
{
    z = clamp(z, -10.0, 10.0);
    return 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
}

void main()
{
    uint i = grid_index(pc.groups_x, ELEMENTWISE_WG);
    if (i >= pc.n) return;
    float v = x[i];
    float z = 0.7978845608 * (v + 0.044715 * v * v * v);
    y[i] = 0.5 * v * (1.0 + tanh_stable(z));
}
