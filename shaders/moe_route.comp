#version 450
#extension GL_GOOGLE_include_directive : require
// MoE router: softmax and top-k per token; one workgroup per token. See moe.h.
// Bindings: 0 logits (T, E) f32 · 1 probs (T, E) f32 · 2 ids (T, k) u32 · 3 weights (T, k) f32.
#include "moe.h"
#define REDUCE_WORKGROUP_SIZE MOE_ROUTE_WG
#include "reduce.glsl"

layout(local_size_x = MOE_ROUTE_WG) in;
layout(binding = 0) readonly buffer Logits { float logits[]; };
layout(binding = 1) writeonly buffer Probs { float probs[]; };
layout(binding = 2) writeonly buffer Ids { uint ids[]; };
layout(binding = 3) writeonly buffer Weights { float weights[]; };

shared float p[MOE_MAX_EXPERTS];
shared bool taken[MOE_MAX_EXPERTS];
shared uint chosen[MOE_MAX_K];
shared uint lowest[MOE_ROUTE_WG];  // one per subgroup

// Index of the largest logit not yet taken, the lower index on ties.
uint select_next(uint base)
{
    float best = -3.4028235e38;
    uint best_e = 0xFFFFFFFFu;
    for (uint e = gl_LocalInvocationID.x; e < pc.E; e += MOE_ROUTE_WG) {
        float v = logits[base + e];
        if (!taken[e] && (best_e == 0xFFFFFFFFu || v > best)) { best = v; best_e = e; }
    }
    float top = workgroup_max(best_e == 0xFFFFFFFFu ? -3.4028235e38 : best);
    uint candidate = subgroupMin(best_e != 0xFFFFFFFFu && best == top ? best_e : 0xFFFFFFFFu);
    if (subgroupElect()) lowest[gl_SubgroupID] = candidate;
    barrier();
    uint result = 0xFFFFFFFFu;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) result = min(result, lowest[i]);
    result = subgroupMin(result);
    barrier();
    return result;
}

void main()
{
    uint t = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (t >= pc.T) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = t * pc.E;
    float local_max = -3.4028235e38;
    for (uint e = tid; e < pc.E; e += MOE_ROUTE_WG) {
        local_max = max(local_max, logits[base + e]);
        taken[e] = false;
    }
    float top = workgroup_max(local_max);
    float local_sum = 0.0;
    for (uint e = tid; e < pc.E; e += MOE_ROUTE_WG) {
        p[e] = exp(logits[base + e] - top);
        local_sum += p[e];
    }
    float inv_sum = 1.0 / workgroup_sum(local_sum);
    for (uint e = tid; e < pc.E; e += MOE_ROUTE_WG) {
        p[e] *= inv_sum;
        probs[base + e] = p[e];
    }
    barrier();
    float chosen_sum = 0.0;
    for (uint j = 0u; j < pc.k; j++) {
        uint e = select_next(base);
        chosen_sum += p[e];
        if (tid == 0u) {
            ids[t * pc.k + j] = e;
            chosen[j] = e;
            taken[e] = true;
        }
        barrier();
    }
    if (tid < pc.k) {
        float w = p[chosen[tid]];
        weights[t * pc.k + tid] = (pc.renorm != 0u ? w / chosen_sum : w) * pc.scale;
    }
}
