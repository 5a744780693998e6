#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w. One workgroup per row; the sum of
// squares is reduced with subgroup operations. Bindings: 0 x (M, N) · 1 w (N) · 2 y (M, N), f32.
//   f32: storage buffers, an element per invocation and step;
//   texel (CPU devices, N % 4 == 0): x and w read as RGBA32UI texels (llvmpipe fetches those
//     about 25x faster than storage buffers), a texel per invocation and step.
//! variant f32
//! variant texel -DTEXEL
//! variant fault_unwritten -DFAULT_UNWRITTEN
//! variant fault_oob -DFAULT_OOB
#include "rows.h"
#ifdef TEXEL
#define WG ROWS_TEXEL_WG
#else
#define WG ROWS_WG
#endif
#define REDUCE_WORKGROUP_SIZE WG
#include "reduce.glsl"

layout(local_size_x = WG) in;
#ifdef TEXEL
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer x_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer w_texels;
layout(binding = 2) writeonly buffer Y { vec4 y[]; };
#define X(i) uintBitsToFloat(imageLoad(x_texels, int(i)))
#define W(i) uintBitsToFloat(imageLoad(w_texels, int(i)))
#define SQUARES(v, s) fma(v.w, v.w, fma(v.z, v.z, fma(v.y, v.y, fma(v.x, v.x, s))))
#define WIDTH (pc.N / 4u)
#else
layout(binding = 0) readonly buffer X_ { float x[]; };
layout(binding = 1) readonly buffer W_ { float w[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };
#define X(i) x[i]
#define W(i) w[i]
#define SQUARES(v, s) fma(v, v, s)
#define WIDTH pc.N
#endif

void main()
{
    uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.M) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = row * WIDTH;  // in elements, or texels
    float sum_sq = 0.0;
    uint i = tid;
#ifdef TEXEL
    for (; i + 3u * WG < WIDTH; i += 4u * WG) {  // four independent fetches in flight
        vec4 a = X(base + i), b = X(base + i + WG), c = X(base + i + 2u * WG), d = X(base + i + 3u * WG);
        sum_sq = SQUARES(d, SQUARES(c, SQUARES(b, SQUARES(a, sum_sq))));
    }
#endif
    for (; i < WIDTH; i += WG) sum_sq = SQUARES(X(base + i), sum_sq);
    sum_sq = workgroup_sum(sum_sq);
    float scale = inversesqrt(sum_sq / float(pc.N) + pc.scalar);
    uint end = WIDTH;
#ifdef FAULT_UNWRITTEN
    if (row == pc.M - 1u) end -= 1u;  // test-only: leaves the last element unwritten
#endif
    for (i = tid; i < end; i += WG) y[base + i] = X(base + i) * scale * W(i);
#ifdef FAULT_OOB
    if (row == pc.M - 1u && tid == 0u) y[pc.M * pc.N] = 0.0;  // test-only: one past the end
#endif
}
