#version 450
#extension GL_GOOGLE_include_directive : require
// SwiGLU gate: y = silu(gate) * up = gate / (1 + exp(-gate)) * up, elementwise.
// Bindings: 0 gate (n) · 1 up (n) · 2 y (n), all f32.
#include "elementwise.h"
#include "grid.glsl"

layout(local_size_x = ELEMENTWISE_WG) in;
layout(binding = 0) readonly buffer Gate { float gate[]; };
layout(binding = 1) readonly buffer Up { float up[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint i = grid_index(pc.groups_x, ELEMENTWISE_WG);
    if (i >= pc.n) return;
    float g = gate[i];
    y[i] = g / (1.0 + exp(-g)) * up[i];  // exp overflow to +inf gives g / inf = 0, the limit
}
