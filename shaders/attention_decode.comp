#version 450
#extension GL_GOOGLE_include_directive : require
// Split-context decode attention, first pass: one chunk of keys of one head per workgroup;
// see attention.h.
//! variant f32
//! variant f16 -DKV_F16
#include "attention.h"
#define REDUCE_WORKGROUP_SIZE ATTN_WG
#include "reduce.glsl"

layout(local_size_x = ATTN_WG) in;
layout(binding = 0) readonly buffer Q { float q[]; };
#include "kv.glsl"
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer Partials { float partials[]; };

shared float q_vec[ATTN_DMAX];
shared float scores[ATTN_CHUNK];

void main()
{
    uint tid = gl_LocalInvocationID.x, chunk = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
    uint kv_head = h / (pc.H / pc.KVH), stride = pc.KVH * pc.D, kv_base = kv_head * pc.D;
    uint length = pos[0] + 1u, start = chunk * ATTN_CHUNK, end = min(start + ATTN_CHUNK, length);
    uint out_base = (h * pc.chunks + chunk) * (pc.D + 2u);
    if (start >= length) {  // uniform: a chunk past the context contributes nothing
        for (uint d = tid; d < pc.D; d += ATTN_WG) partials[out_base + d] = 0.0;
        if (tid == 0u) {
            partials[out_base + pc.D] = ATTN_MASKED;
            partials[out_base + pc.D + 1u] = 0.0;
        }
        return;
    }
    for (uint d = tid; d < pc.D; d += ATTN_WG) q_vec[d] = q[h * pc.D + d] * pc.scale;
    barrier();
    float local_max = ATTN_MASKED;
    for (uint k = start + tid; k < end; k += ATTN_WG) {
        float s = 0.0;
        for (uint d = 0u; d < pc.D; d++) s = fma(q_vec[d], load_k(k * stride + kv_base + d), s);
        scores[k - start] = s;
        local_max = max(local_max, s);
    }
    float chunk_max = workgroup_max(local_max);  // its barriers also publish scores[]
    float local_sum = 0.0;
    for (uint k = start + tid; k < end; k += ATTN_WG) {
        float p = exp(scores[k - start] - chunk_max);
        scores[k - start] = p;
        local_sum += p;
    }
    float chunk_sum = workgroup_sum(local_sum);  // and publish the probabilities
    for (uint d = tid; d < pc.D; d += ATTN_WG) {
        float a = 0.0;
        for (uint k = start; k < end; k++) a = fma(scores[k - start], load_v(k * stride + kv_base + d), a);
        partials[out_base + d] = a;
    }
    if (tid == 0u) {
        partials[out_base + pc.D] = chunk_max;
        partials[out_base + pc.D + 1u] = chunk_sum;
    }
}
