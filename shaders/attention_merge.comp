#version 450
#extension GL_GOOGLE_include_directive : require
// Split-context decode attention, second pass: combines the chunks of one head per workgroup
// by their maxima; see attention.h.
#include "attention.h"

layout(local_size_x = ATTN_MERGE_WG) in;
layout(binding = 0) readonly buffer Partials { float partials[]; };
layout(binding = 1) writeonly buffer O { float o[]; };

void main()
{
    // One output value per invocation (not one head per workgroup, which idles most of a
    // workgroup on small heads); each recomputes its head's maximum and total, a few chunks.
    uint i = gl_WorkGroupID.x * ATTN_MERGE_WG + gl_LocalInvocationID.x;
    if (i >= pc.H * pc.D) return;
    uint h = i / pc.D, d = i % pc.D, stride = pc.D + 2u, base = h * pc.chunks * stride;
    float global_max = ATTN_MASKED;
    for (uint c = 0u; c < pc.chunks; c++) global_max = max(global_max, partials[base + c * stride + pc.D]);
    float total = 0.0, a = 0.0;
    for (uint c = 0u; c < pc.chunks; c++) {
        float weight = exp(partials[base + c * stride + pc.D] - global_max);
        total += weight * partials[base + c * stride + pc.D + 1u];
        a += weight * partials[base + c * stride + d];
    }
    o[i] = a / total;
}
