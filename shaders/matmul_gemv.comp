#version 450
#extension GL_GOOGLE_include_directive : require
// GEMV path of matmul (decode, M = 1; any M works, one z-slice per row of x): a workgroup
// computes one y[m, n]; its invocations stride along K with vector loads when rows are
// aligned, then reduce with subgroup operations.
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant fault_drop_term -DFAULT_DROP_TERM
#include "matmul.h"
#define REDUCE_WORKGROUP_SIZE MATMUL_GEMV_WG
#include "reduce.glsl"

layout(local_size_x = MATMUL_GEMV_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
#include "weights.glsl"
layout(binding = 2) writeonly buffer Y { float y[]; };

float row_dot_vector(uint x_row, uint w_row, uint tid)
{
    float acc = 0.0;
    for (uint i = tid; i < pc.K / WEIGHT_VEC; i += MATMUL_GEMV_WG) {
#ifdef WEIGHT_F16
        uvec4 q = w4[w_row / 8u + i];
        uint xv = x_row / 4u + 2u * i;
        acc += dot(x4[xv], vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)));
        acc += dot(x4[xv + 1u], vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)));
#else
        acc += dot(x4[x_row / 4u + i], w4[w_row / 4u + i]);
#endif
    }
    return acc;
}

float row_dot_scalar(uint x_row, uint w_row, uint tid)
{
    uint K = pc.K;
#ifdef FAULT_DROP_TERM
    K -= 1u;  // test-only: a wrong result the checker must catch
#endif
    float acc = 0.0;
    for (uint k = tid; k < K; k += MATMUL_GEMV_WG) acc = fma(x[x_row + k], weight_at(w_row + k), acc);
    return acc;
}

void main()
{
    uint n = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    uint m = gl_WorkGroupID.z;
    if (n >= pc.N) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x;
    uint x_row = m * pc.K, w_row = n * pc.K;
#ifdef FAULT_DROP_TERM
    bool aligned = false;
#else
    bool aligned = pc.K % WEIGHT_VEC == 0u;  // then every row starts on a vector boundary
#endif
    float partial = aligned ? row_dot_vector(x_row, w_row, tid) : row_dot_scalar(x_row, w_row, tid);
    float total = workgroup_sum(partial);
    if (tid == 0u) y[m * pc.N + n] = total;
}
