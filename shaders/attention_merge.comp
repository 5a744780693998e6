#version 450
#extension GL_GOOGLE_include_directive : require
// Split-context decode attention, second pass: combines the chunks of one head per workgroup
// by their maxima; see attention.h.
#include "attention.h"

layout(local_size_x = ATTN_WG) in;
layout(binding = 0) readonly buffer Partials { float partials[]; };
layout(binding = 1) writeonly buffer O { float o[]; };

const float MASKED = -3.0e38;

void main()
{
    uint h = gl_WorkGroupID.x, stride = pc.D + 2u, base = h * pc.chunks * stride;
    float global_max = MASKED;
    for (uint c = 0u; c < pc.chunks; c++) global_max = max(global_max, partials[base + c * stride + pc.D]);
    float total = 0.0;
    for (uint c = 0u; c < pc.chunks; c++)
        total += exp(partials[base + c * stride + pc.D] - global_max) * partials[base + c * stride + pc.D + 1u];
    for (uint d = gl_LocalInvocationID.x; d < pc.D; d += ATTN_WG) {
        float a = 0.0;
        for (uint c = 0u; c < pc.chunks; c++)
            a += exp(partials[base + c * stride + pc.D] - global_max) * partials[base + c * stride + d];
        o[h * pc.D + d] = a / total;
    }
}
