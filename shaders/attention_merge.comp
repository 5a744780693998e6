#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Split-context decode attention, second pass: combines the chunks of one head per workgroup
// by their maxima; see attention.h.
#include "attention.h"

layout(local_size_x = ATTN_MERGE_WG) in;
layout(binding = 0) readonly buffer Partials { float partials[]; };
layout(binding = 1) writeonly buffer O { float o[]; };

#define MERGE_CHUNKS 8u  // chunks read at once, so their loads are in flight together

void main()
{
    // One output value per invocation (not one head per workgroup, which idles most of a
    // workgroup on small heads). The chunks are taken MERGE_CHUNKS at a time with a running
    // maximum, as flash attention takes keys: one pass over the partials, not one for the
    // maximum and another for the sums (at context 4096, 64 chunks of loads one after another).
    uint i = gl_WorkGroupID.x * ATTN_MERGE_WG + gl_LocalInvocationID.x;
    if (i >= pc.H * pc.D) return;
    uint h = i / pc.D, d = i % pc.D, stride = pc.D + 2u, base = h * pc.chunks * stride;
    float run_max = ATTN_MASKED, total = 0.0, a = 0.0;
    for (uint c0 = 0u; c0 < pc.chunks; c0 += MERGE_CHUNKS) {
        float chunk_max[MERGE_CHUNKS], chunk_sum[MERGE_CHUNKS], value[MERGE_CHUNKS];
        float new_max = run_max;
        [[unroll]] for (uint j = 0u; j < MERGE_CHUNKS; j++) {  // chunks past the last: weight 0
            uint at = base + min(c0 + j, pc.chunks - 1u) * stride;
            bool real = c0 + j < pc.chunks;
            chunk_max[j] = real ? partials[at + pc.D] : ATTN_MASKED;
            chunk_sum[j] = real ? partials[at + pc.D + 1u] : 0.0;
            value[j] = real ? partials[at + d] : 0.0;
            new_max = max(new_max, chunk_max[j]);
        }
        float keep = exp(run_max - new_max);  // 1 while every chunk so far is past the context
        total *= keep;
        a *= keep;
        [[unroll]] for (uint j = 0u; j < MERGE_CHUNKS; j++) {
            float weight = exp(chunk_max[j] - new_max);
            total += weight * chunk_sum[j];
            a += weight * value[j];
        }
        run_max = new_max;
    }
    o[i] = a / total;
}
