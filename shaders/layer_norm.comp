#version 450
#extension GL_GOOGLE_include_directive : require
// LayerNorm over rows (GPT-2): y = (x - mean) / sqrt(var + eps) * w + b. One workgroup per row;
// the variance is taken around the mean in a second pass, so large offsets do not cancel.
// Bindings: 0 x (M, N) · 1 w (N) · 2 b (N) · 3 y (M, N), all f32.
#include "rows.h"
#define REDUCE_WORKGROUP_SIZE ROWS_WG
#include "reduce.glsl"

layout(local_size_x = ROWS_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

void main()
{
    uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.M) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = row * pc.N;
    float sum = 0.0;
    for (uint i = tid; i < pc.N; i += ROWS_WG) sum += x[base + i];
    float mean = workgroup_sum(sum) / float(pc.N);
    float sum_sq = 0.0;
    for (uint i = tid; i < pc.N; i += ROWS_WG) {
        float d = x[base + i] - mean;
        sum_sq = fma(d, d, sum_sq);
    }
    float scale = inversesqrt(workgroup_sum(sum_sq) / float(pc.N) + pc.scalar);
    for (uint i = tid; i < pc.N; i += ROWS_WG) y[base + i] = (x[base + i] - mean) * scale * w[i] + b[i];
}
