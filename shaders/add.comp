#version 450
#extension GL_GOOGLE_include_directive : require
// Residual add: y = a + b, elementwise. Bindings: 0 a (n) · 1 b (n) · 2 y (n), all f32;
// y may alias a.
#include "elementwise.h"
#include "grid.glsl"

layout(local_size_x = ELEMENTWISE_WG) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint i = grid_index(pc.groups_x, ELEMENTWISE_WG);
    if (i < pc.n) y[i] = a[i] + b[i];
}
