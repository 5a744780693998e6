#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w. One workgroup per row; the sum of
// squares is reduced with subgroup operations. Bindings: 0 x (M, N) · 1 w (N) · 2 y (M, N), f32.
//! variant f32
//! variant fault_unwritten -DFAULT_UNWRITTEN
//! variant fault_oob -DFAULT_OOB
#include "rows.h"
#define REDUCE_WORKGROUP_SIZE ROWS_WG
#include "reduce.glsl"

layout(local_size_x = ROWS_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.M) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = row * pc.N;
    float sum_sq = 0.0;
    for (uint i = tid; i < pc.N; i += ROWS_WG) sum_sq = fma(x[base + i], x[base + i], sum_sq);
    sum_sq = workgroup_sum(sum_sq);
    float scale = inversesqrt(sum_sq / float(pc.N) + pc.scalar);
    uint end = pc.N;
#ifdef FAULT_UNWRITTEN
    if (row == pc.M - 1u) end -= 1u;  // test-only: leaves the last element unwritten
#endif
    for (uint i = tid; i < end; i += ROWS_WG) y[base + i] = x[base + i] * scale * w[i];
#ifdef FAULT_OOB
    if (row == pc.M - 1u && tid == 0u) y[pc.M * pc.N] = 0.0;  // test-only: one past the end
#endif
}
