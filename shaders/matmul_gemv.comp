#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// GEMV path of matmul (decode, M = 1; any M works, one z-slice per row of x).
// Storage-buffer path: a workgroup computes one y[m, n]; its invocations stride along K with
// vector loads when rows are aligned, then reduce with subgroup operations.
// Texel path (TEXEL, for CPU devices; see vkl_device_prefers_texel_reads): x and W are read as
// RGBA32UI texels, and a small workgroup computes MATMUL_GEMV_TEXEL_ROWS rows at once.
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant texel_f32 -DTEXEL
//! variant texel_f16 -DTEXEL -DWEIGHT_F16
//! variant fault_drop_term -DFAULT_DROP_TERM
#include "matmul.h"

#ifdef TEXEL
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define WG MATMUL_GEMV_TEXEL_WG
#define ROWS MATMUL_GEMV_TEXEL_ROWS
layout(local_size_x = WG) in;
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer x_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer w_texels;
layout(binding = 2) writeonly buffer Y { float y[]; };
shared float partials[ROWS][WG];  // one per subgroup, when the workgroup spans several
// The device's smallest subgroup size (set by the host): where it is at least WG, the step
// that adds subgroups' sums through shared memory is compiled away with its barrier, which
// costs llvmpipe about 10 % of this kernel's time even when not taken.
layout(constant_id = 0) const uint SUBGROUP_MIN = 1u;

vec4 x_at(uint texel) { return uintBitsToFloat(imageLoad(x_texels, int(texel))); }

// Weight texel w_texel dotted with the x values it multiplies (xa; then xb for f16 weights).
#ifdef WEIGHT_F16
#define WEIGHT_VEC 8u
float texel_dot(uint w_texel, vec4 xa, vec4 xb)
{
    uvec4 q = imageLoad(w_texels, int(w_texel)).xyzw;
    return dot(xa, vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y))) +
           dot(xb, vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)));
}
#else
#define WEIGHT_VEC 4u
float texel_dot(uint w_texel, vec4 xa, vec4 xb) { return dot(xa, uintBitsToFloat(imageLoad(w_texels, int(w_texel)))); }
#endif

void main()
{
    uint n0 = (gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x) * ROWS;
    if (n0 >= pc.N) return;  // uniform across the workgroup
    uint m = gl_WorkGroupID.z, tid = gl_LocalInvocationID.x, texels = pc.K / WEIGHT_VEC;
    uint row_texel[ROWS];  // rows past N repeat the last one; their sums are not stored
    [[unroll]] for (uint r = 0; r < ROWS; r++) row_texel[r] = min(n0 + r, pc.N - 1u) * texels;
    float acc[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) acc[r] = 0.0;
    uint x_texel = m * (pc.K / 4u);
    for (uint i = tid; i < texels; i += WG) {
        vec4 xa = x_at(x_texel + i * (WEIGHT_VEC / 4u)), xb = vec4(0.0);
#ifdef WEIGHT_F16
        xb = x_at(x_texel + 2u * i + 1u);
#endif
        [[unroll]] for (uint r = 0; r < ROWS; r++) acc[r] += texel_dot(row_texel[r] + i, xa, xb);
    }
    [[unroll]] for (uint r = 0; r < ROWS; r++) acc[r] = subgroupAdd(acc[r]);
    if (SUBGROUP_MIN < WG) {  // several subgroups may share the workgroup
        if (subgroupElect()) [[unroll]] for (uint r = 0; r < ROWS; r++) partials[r][gl_SubgroupID] = acc[r];
        barrier();
        [[unroll]] for (uint r = 0; r < ROWS; r++) {
            acc[r] = 0.0;
            for (uint s = 0; s < gl_NumSubgroups; s++) acc[r] += partials[r][s];
        }
    }
    if (tid == 0u)
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            if (n0 + r < pc.N) y[m * pc.N + n0 + r] = acc[r];
}

#else  // storage-buffer path
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
#endif
