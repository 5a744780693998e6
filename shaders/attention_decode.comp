#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Split-context decode attention, first pass: one chunk of keys of one head per workgroup;
// see attention.h.
// Texel path (TEXEL, for CPU devices; see vkl_device_prefers_texel_reads): q, K and V are read
// as RGBA32UI texels by a workgroup of ATTN_TEXEL_WG invocations: scores one key per
// invocation, then the weighted sum of V one slot of 8 head values per invocation; workgroup
// barriers only where subgroups may be smaller than the workgroup. Needs D % 8 == 0. Chunks of
// ATTN_TEXEL_CHUNK keys; where one chunk holds the whole cache, the output is written directly
// (binding 5) and the merge pass is not run.
//! variant f32
//! variant f16 -DKV_F16
//! variant texel_f32 -DTEXEL
//! variant texel_f16 -DTEXEL -DKV_F16
#include "attention.h"

#ifdef TEXEL
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define WG ATTN_TEXEL_WG
layout(local_size_x = WG) in;
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer q_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer k_texels;
layout(binding = 2, rgba32ui) uniform readonly uimageBuffer v_texels;
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer Partials { float partials[]; };
layout(binding = 5) writeonly buffer O { float o[]; };
// The device's smallest subgroup size (set by the host): where it is at least WG, the steps
// that combine subgroups through shared memory compile away with their barriers.
layout(constant_id = 0) const uint SUBGROUP_MIN = 1u;

#define CHUNK ATTN_TEXEL_CHUNK
shared float weights[CHUNK];  // scores, then exp(score - max)
shared float subgroup_part[WG];
shared vec4 slot_part[WG][2];  // V sums of invocations that share a slot

// Values 8s..8s+7 of the row of the K (which 0) or V (which 1) cache starting at element `base`.
void load_slot(uint which, uint base, uint s, out vec4 lo, out vec4 hi)
{
#ifdef KV_F16
    uvec4 w = which == 0u ? imageLoad(k_texels, int(base / 8u + s)) : imageLoad(v_texels, int(base / 8u + s));
    lo = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
    hi = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
#else
    int t = int(base / 4u + 2u * s);
    lo = uintBitsToFloat(which == 0u ? imageLoad(k_texels, t) : imageLoad(v_texels, t));
    hi = uintBitsToFloat(which == 0u ? imageLoad(k_texels, t + 1) : imageLoad(v_texels, t + 1));
#endif
}

// Makes weights[] written by any invocation visible to all: a subgroup barrier where one
// subgroup is the whole workgroup.
void sync_weights()
{
    if (SUBGROUP_MIN < WG) {
        barrier();
    } else {
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}

// acc += sum of p_k V[k] over slot s of keys first, first + step, .. < end (weights[] holds p).
void v_sum(uint s, uint first, uint step, uint start, uint end, uint kv_base, uint row_stride, inout vec4 acc_lo,
           inout vec4 acc_hi)
{
    for (uint k = first; k < end; k += step) {
        vec4 lo, hi;
        load_slot(1u, k * row_stride + kv_base, s, lo, hi);
        float p = weights[k - start];
        acc_lo = fma(vec4(p), lo, acc_lo);
        acc_hi = fma(vec4(p), hi, acc_hi);
    }
}

// Slot s of the chunk's weighted sum of V: the head's output (divided by the sum of the
// weights) where one chunk covers the cache, else the chunk's partial sum for the merge.
void store_slot(uint out_base, uint h, uint s, vec4 lo, vec4 hi, float sum)
{
    for (uint j = 0u; j < 4u; j++) {
        if (pc.chunks == 1u) {
            o[h * pc.D + 8u * s + j] = lo[j] / sum;
            o[h * pc.D + 8u * s + 4u + j] = hi[j] / sum;
        } else {
            partials[out_base + 8u * s + j] = lo[j];
            partials[out_base + 8u * s + 4u + j] = hi[j];
        }
    }
}

float workgroup_combine(float value, bool is_max)
{
    value = is_max ? subgroupMax(value) : subgroupAdd(value);
    if (SUBGROUP_MIN < WG) {  // several subgroups may share the workgroup
        if (subgroupElect()) subgroup_part[gl_SubgroupID] = value;
        barrier();
        value = subgroup_part[0];
        for (uint g = 1u; g < gl_NumSubgroups; g++)
            value = is_max ? max(value, subgroup_part[g]) : value + subgroup_part[g];
        barrier();  // subgroup_part may be reused
    }
    return value;
}

void main()
{
    uint chunk = gl_WorkGroupID.x, h = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    uint row_stride = pc.KVH * pc.D, kv_base = (h / (pc.H / pc.KVH)) * pc.D, slots = pc.D / 8u;
    uint length = pos[0] + 1u, start = chunk * CHUNK, end = min(start + CHUNK, length);
    uint out_base = (h * pc.chunks + chunk) * (pc.D + 2u), q_texel = h * pc.D / 4u;
    // Scores, one key per invocation at a time: q . K[k], q pre-scaled as the reference does.
    float local_max = ATTN_MASKED;
    for (uint k = start + tid; k < end; k += WG) {
        float score = 0.0;
        for (uint s = 0u; s < slots; s++) {
            vec4 lo, hi;
            load_slot(0u, k * row_stride + kv_base, s, lo, hi);
            vec4 q_lo = uintBitsToFloat(imageLoad(q_texels, int(q_texel + 2u * s))) * pc.scale;
            vec4 q_hi = uintBitsToFloat(imageLoad(q_texels, int(q_texel + 2u * s + 1u))) * pc.scale;
            score += dot(q_lo, lo) + dot(q_hi, hi);
        }
        weights[k - start] = score;
        local_max = max(local_max, score);
    }
    float m = workgroup_combine(local_max, true);  // ATTN_MASKED for a chunk past the context
    sync_weights();
    float local_sum = 0.0;
    for (uint k = start + tid; k < end; k += WG) {
        float p = exp(weights[k - start] - m);
        weights[k - start] = p;
        local_sum += p;
    }
    float sum = workgroup_combine(local_sum, false);
    sync_weights();
    // Weighted sum of V, 8 head values (a slot) per invocation at a time. With fewer slots than
    // invocations (small heads), `spread` invocations share a slot, each over every spread-th
    // key, and add up through shared memory: one invocation alone would walk all the chunk's
    // keys while the rest idle.
    if (slots < WG) {
        uint spread = WG / slots, s = tid / spread, group = tid % spread;
        vec4 acc_lo = vec4(0.0), acc_hi = vec4(0.0);
        if (s < slots) v_sum(s, start + group, spread, start, end, kv_base, row_stride, acc_lo, acc_hi);
        slot_part[tid][0] = acc_lo;
        slot_part[tid][1] = acc_hi;
        sync_weights();
        if (s < slots && group == 0u) {
            for (uint g = 1u; g < spread; g++) {
                acc_lo += slot_part[tid + g][0];
                acc_hi += slot_part[tid + g][1];
            }
            store_slot(out_base, h, s, acc_lo, acc_hi, sum);
        }
    } else {
        for (uint s = tid; s < slots; s += WG) {
            vec4 acc_lo = vec4(0.0), acc_hi = vec4(0.0);
            v_sum(s, start, 1u, start, end, kv_base, row_stride, acc_lo, acc_hi);
            store_slot(out_base, h, s, acc_lo, acc_hi, sum);
        }
    }
    if (tid == 0u && pc.chunks > 1u) {
        partials[out_base + pc.D] = m;
        partials[out_base + pc.D + 1u] = sum;
    }
}

#else  // storage-buffer path
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
#endif
