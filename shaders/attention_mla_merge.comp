#version 450
#extension GL_GOOGLE_include_directive : require
// Multi-head latent attention, second pass: an invocation per output value combines the chunks'
// partials by their maxima (see attention_mla.h).
#include "attention_mla.h"

layout(local_size_x = MLA_MERGE_WG) in;
layout(binding = 0) readonly buffer Partials { float partials[]; };
layout(binding = 1) writeonly buffer O { float o[]; };

void main()
{
    uint i = gl_WorkGroupID.x * MLA_MERGE_WG + gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y;  // m * H + h
    if (i >= pc.L) return;
    uint stride = pc.L + 2u, base = row * pc.chunks * stride;
    float run_max = MLA_MASKED;
    for (uint c = 0u; c < pc.chunks; c++) run_max = max(run_max, partials[base + c * stride + pc.L]);
    float total = 0.0, a = 0.0;
    for (uint c = 0u; c < pc.chunks; c++) {
        uint at = base + c * stride;
        float weight = exp(partials[at + pc.L] - run_max);  // 0 for empty chunks (max MLA_MASKED)
        total += weight * partials[at + pc.L + 1u];
        a += weight * partials[at + i];
    }
    o[row * pc.L + i] = a / total;
}
