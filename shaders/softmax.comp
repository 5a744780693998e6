#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax over rows with temperature: y = exp((x - max) / T) / sum. One workgroup per row.
// Bindings: 0 x (M, N) · 1 y (M, N), f32. pc.scalar = 1 / T.
#include "rows.h"
#define REDUCE_WORKGROUP_SIZE ROWS_WG
#include "reduce.glsl"

layout(local_size_x = ROWS_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.M) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = row * pc.N;
    float local_max = -3.4028235e38;
    for (uint i = tid; i < pc.N; i += ROWS_WG) local_max = max(local_max, x[base + i]);
    float row_max = workgroup_max(local_max);
    float sum = 0.0;
    for (uint i = tid; i < pc.N; i += ROWS_WG) sum += exp((x[base + i] - row_max) * pc.scalar);
    float inv_sum = 1.0 / workgroup_sum(sum);
    for (uint i = tid; i < pc.N; i += ROWS_WG) y[base + i] = exp((x[base + i] - row_max) * pc.scalar) * inv_sum;
}
