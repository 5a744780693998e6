#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Split-context decode attention, first pass: one chunk of keys of one head per workgroup;
// see attention.h. KEY_LANES (variants lanes_*, for GPUs; D % 4 == 0): the scores are computed
// by a subgroup per key, its lanes splitting the head dimension (key_scores), not an invocation
// per key, and the V sum by groups of invocations each over every few keys (value_sums), all
// with 16-byte loads.
// Texel path (TEXEL, for CPU devices; see vkl_device_prefers_texel_reads): q, K and V are read
// as RGBA32UI texels by a workgroup of ATTN_TEXEL_WG invocations, for HEADS query heads of one
// KV group and (prefill) ROWS consecutive query rows at once: scores 4 keys per invocation at a
// time, then the weighted sum of V one slot of 8 head values per invocation; workgroup
// barriers only where subgroups may be smaller than the workgroup. llvmpipe pays per texel
// fetch and per shared-memory load, not per byte, so each fetch serves several keys, heads or
// rows and the weights reach the V sum by subgroup broadcast. Needs D % 8 == 0. Chunks of
// ATTN_TEXEL_CHUNK keys; where one chunk holds the whole cache, and in prefill (a workgroup per
// ROWS query rows, variants prefill_texel.*), the output is written directly (binding 5) and
// the merge pass is not run.
//! variant f32
//! variant f16 -DKV_F16
//! variant lanes_f32 -DKEY_LANES
//! variant lanes_f16 -DKEY_LANES -DKV_F16
//! variant texel_f32 -DTEXEL
//! variant texel_f16 -DTEXEL -DKV_F16
#include "attention.h"

#ifdef TEXEL
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_ballot : require
#define WG ATTN_TEXEL_WG
layout(local_size_x = WG) in;
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer q_texels;
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer k_texels;
layout(binding = 2, rgba32ui) uniform readonly uimageBuffer v_texels;
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer Partials { float partials[]; };
layout(binding = 5) buffer O { float o[]; };
// The device's smallest subgroup size (set by the host): where it is at least WG, the steps
// that combine subgroups through shared memory compile away with their barriers.
layout(constant_id = 0) const uint SUBGROUP_MIN = 1u;

#define CHUNK ATTN_TEXEL_CHUNK
// Query heads per workgroup (1, 2 or 4; set by the host), all of one KV group, and query rows
// per workgroup (prefill; HEADS * ROWS <= 4), so that each K and V texel read serves them all.
// Each (row, head) pair has a set of sums, indexed hh below: head h0 + hh % HEADS of query row
// q_row + hh / HEADS.
layout(constant_id = 1) const uint HEADS = 1u;
layout(constant_id = 2) const uint ROWS = 1u;
const uint PAIRS = HEADS * ROWS;
#define MAX_PAIRS ATTN_TEXEL_PAIRS
#define KEYS_PER_INVOCATION 4u  // scores: keys per invocation at a time, sharing each q texel read
#define V_KEYS 4u               // weighted sum of V: keys per step, their weights broadcast from one lane each
shared float weights[MAX_PAIRS][CHUNK];  // per pair: scores, then exp(score - max)
shared float subgroup_part[WG];
shared vec4 slot_part[MAX_PAIRS][WG][2];  // V sums of invocations that share a slot

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

// How a chunk's weighted sums of V join a head's output: o = o keep + sums take (o unread on
// the first chunk), divided by total after the last; the chunks of one query go through a
// workgroup in turn, with a running maximum and sum as in flash attention.
struct Merge {
    float keep, take, total;
    bool first, last;
};

// Slot s of the chunk's weighted sum of V for head h of query row q_row: the chunk's partial
// sum for the merge pass where the context is split across workgroups (decode), else merged
// into the output.
void store_slot(uint h, uint q_row, uint chunk, uint s, vec4 lo, vec4 hi, Merge mg)
{
    if (pc.chunks > 1u) {
        uint out_base = (h * pc.chunks + chunk) * (pc.D + 2u);
        for (uint j = 0u; j < 4u; j++) {
            partials[out_base + 8u * s + j] = lo[j];
            partials[out_base + 8u * s + 4u + j] = hi[j];
        }
        return;
    }
    uint at = (q_row * pc.H + h) * pc.D + 8u * s;
    for (uint j = 0u; j < 8u; j++) {
        float value = (j < 4u ? lo[j] : hi[j - 4u]) * mg.take;
        if (!mg.first) value += o[at + j] * mg.keep;  // written by this invocation, the chunk before
        o[at + j] = mg.last ? value / mg.total : value;
    }
}

// Query row of pair hh of the workgroup whose first row is q_row; pairs past the last row
// repeat it (their results are not stored).
uint pair_row(uint q_row, uint hh) { return min(q_row + hh / HEADS, pc.M - 1u); }

// Scores of keys [start, end) for pairs hh into weights[]: q . K[k], q pre-scaled as the
// reference does; keys at or past a pair's length[hh] (its query's causal limit) score
// ATTN_MASKED. Returns each pair's maximum over this invocation's keys.
void scores(uint q_row, uint h0, uint start, uint end, uint key0, uint row_stride, uint length[MAX_PAIRS],
            out float local_max[MAX_PAIRS])
{
    uint tid = gl_LocalInvocationID.x, slots = pc.D / 8u;
    [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) local_max[hh] = ATTN_MASKED;
    for (uint k0 = start; k0 < end; k0 += WG * KEYS_PER_INVOCATION) {  // keys k0 + tid + WG r
        uint key_base[KEYS_PER_INVOCATION];
        float score[MAX_PAIRS][KEYS_PER_INVOCATION];
        [[unroll]] for (uint r = 0u; r < KEYS_PER_INVOCATION; r++) {  // keys past the end repeat the last
            key_base[r] = min(k0 + tid + WG * r, end - 1u) * row_stride + key0;
            [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) score[hh][r] = 0.0;
        }
        for (uint s = 0u; s < slots; s++) {
            vec4 q_lo[MAX_PAIRS], q_hi[MAX_PAIRS];
            [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
                uint q_texel = (pair_row(q_row, hh) * pc.H + h0 + hh % HEADS) * pc.D / 4u + 2u * s;
                q_lo[hh] = uintBitsToFloat(imageLoad(q_texels, int(q_texel))) * pc.scale;
                q_hi[hh] = uintBitsToFloat(imageLoad(q_texels, int(q_texel + 1u))) * pc.scale;
            }
            [[unroll]] for (uint r = 0u; r < KEYS_PER_INVOCATION; r++) {
                vec4 lo, hi;
                load_slot(0u, key_base[r], s, lo, hi);
                [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) score[hh][r] += dot(q_lo[hh], lo) + dot(q_hi[hh], hi);
            }
        }
        [[unroll]] for (uint r = 0u; r < KEYS_PER_INVOCATION; r++) {
            uint k = k0 + tid + WG * r;
            if (k < end)
                [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
                    float score_k = k < length[hh] ? score[hh][r] : ATTN_MASKED;
                    weights[hh][k - start] = score_k;
                    local_max[hh] = max(local_max[hh], score_k);
                }
        }
    }
}

// acc[hh] += sum of p_k V[k] over slot s of keys first, first + step, .. < end (weights[] holds p).
void v_sum(uint s, uint first, uint step, uint start, uint end, uint key0, uint row_stride,
           inout vec4 acc_lo[MAX_PAIRS], inout vec4 acc_hi[MAX_PAIRS])
{
    for (uint k = first; k < end; k += step) {
        vec4 lo, hi;
        load_slot(1u, k * row_stride + key0, s, lo, hi);
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
            float p = weights[hh][k - start];
            acc_lo[hh] = fma(vec4(p), lo, acc_lo[hh]);
            acc_hi[hh] = fma(vec4(p), hi, acc_hi[hh]);
        }
    }
}

// As v_sum over keys [start, end), V_KEYS at a time with each key's weights broadcast from the
// invocation that read them (a shared load per key costs llvmpipe a gather); needs the
// workgroup to be one subgroup.
void v_sum_broadcast(uint s, uint start, uint end, uint key0, uint row_stride, inout vec4 acc_lo[MAX_PAIRS],
                     inout vec4 acc_hi[MAX_PAIRS])
{
    uint k = start, tid = gl_LocalInvocationID.x;
    for (; k + V_KEYS <= end; k += V_KEYS) {
        float mine[MAX_PAIRS];
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) mine[hh] = weights[hh][k - start + tid % V_KEYS];
#define V_KEY(J)                                                              \
    {                                                                         \
        vec4 lo, hi;                                                          \
        load_slot(1u, (k + J) * row_stride + key0, s, lo, hi);                \
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {                     \
            float p = subgroupBroadcast(mine[hh], J);                         \
            acc_lo[hh] = fma(vec4(p), lo, acc_lo[hh]);                        \
            acc_hi[hh] = fma(vec4(p), hi, acc_hi[hh]);                        \
        }                                                                     \
    }
        V_KEY(0u) V_KEY(1u) V_KEY(2u) V_KEY(3u)
#undef V_KEY
    }
    v_sum(s, k, 1u, start, end, key0, row_stride, acc_lo, acc_hi);
}

// Keys [chunk CHUNK, ..) for the pairs of query rows q_row.. and heads h0.., pair hh seeing
// length[hh] keys: scores, softmax weights, weighted sums of V; run_max and run_sum carry each
// pair's running maximum and sum from chunk to chunk. A pair whose keys all lie before the
// chunk (rows end at different keys) runs along, its sums meaningless, and stores nothing: its
// output was final at its last chunk.
void attend_chunk(uint q_row, uint h0, uint chunk, uint length[MAX_PAIRS], inout float run_max[MAX_PAIRS],
                  inout float run_sum[MAX_PAIRS])
{
    uint tid = gl_LocalInvocationID.x, row_stride = pc.KVH * pc.D, key0 = (h0 / (pc.H / pc.KVH)) * pc.D;
    uint slots = pc.D / 8u, start = chunk * CHUNK, end = min(start + CHUNK, length[PAIRS - 1u]);
    float m[MAX_PAIRS], sum[MAX_PAIRS], local[MAX_PAIRS];
    bool stores[MAX_PAIRS];  // decode stores every chunk's partials, also past the context
    [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++)
        stores[hh] = pc.chunks > 1u || (start < length[hh] && q_row + hh / HEADS < pc.M);
    scores(q_row, h0, start, end, key0, row_stride, length, local);
    [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
        m[hh] = workgroup_combine(local[hh], true);  // ATTN_MASKED for a chunk past the context
        local[hh] = 0.0;
    }
    sync_weights();
    for (uint k = start + tid; k < end; k += WG)
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
            float p = exp(weights[hh][k - start] - m[hh]);
            weights[hh][k - start] = p;
            local[hh] += p;
        }
    Merge mg[MAX_PAIRS];
    [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
        sum[hh] = workgroup_combine(local[hh], false);
        float new_max = max(run_max[hh], m[hh]);
        mg[hh].keep = exp(run_max[hh] - new_max);  // 0 before the first chunk (run_max ATTN_MASKED)
        mg[hh].take = exp(m[hh] - new_max);
        run_sum[hh] = run_sum[hh] * mg[hh].keep + sum[hh] * mg[hh].take;
        run_max[hh] = new_max;
        mg[hh].total = run_sum[hh];
        mg[hh].first = chunk == 0u;
        mg[hh].last = start + CHUNK >= length[hh];
    }
    sync_weights();
    // Weighted sum of V, 8 head values (a slot) per invocation at a time. With fewer slots than
    // invocations (small heads), `spread` invocations share a slot, each over every spread-th
    // key, and add up through shared memory: one invocation alone would walk all the chunk's
    // keys while the rest idle.
    vec4 acc_lo[MAX_PAIRS], acc_hi[MAX_PAIRS];
    if (slots < WG) {
        uint spread = WG / slots, s = tid / spread, group = tid % spread;
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) acc_lo[hh] = acc_hi[hh] = vec4(0.0);
        if (s < slots) v_sum(s, start + group, spread, start, end, key0, row_stride, acc_lo, acc_hi);
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
            slot_part[hh][tid][0] = acc_lo[hh];
            slot_part[hh][tid][1] = acc_hi[hh];
        }
        sync_weights();
        if (s < slots && group == 0u)
            [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
                for (uint g = 1u; g < spread; g++) {
                    acc_lo[hh] += slot_part[hh][tid + g][0];
                    acc_hi[hh] += slot_part[hh][tid + g][1];
                }
                if (stores[hh])
                    store_slot(h0 + hh % HEADS, pair_row(q_row, hh), chunk, s, acc_lo[hh], acc_hi[hh], mg[hh]);
            }
    } else {
        // Every invocation runs each pass (a slot past the last repeats it, not stored), so all
        // take part in the broadcasts.
        for (uint s0 = 0u; s0 < slots; s0 += WG) {
            uint s = min(s0 + tid, slots - 1u);
            [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) acc_lo[hh] = acc_hi[hh] = vec4(0.0);
            if (SUBGROUP_MIN >= WG) v_sum_broadcast(s, start, end, key0, row_stride, acc_lo, acc_hi);
            else v_sum(s, start, 1u, start, end, key0, row_stride, acc_lo, acc_hi);
            if (s0 + tid < slots)
                [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++)
                    if (stores[hh])
                        store_slot(h0 + hh % HEADS, pair_row(q_row, hh), chunk, s, acc_lo[hh], acc_hi[hh], mg[hh]);
        }
    }
    if (tid == 0u && pc.chunks > 1u)
        [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
            uint out_base = ((h0 + hh % HEADS) * pc.chunks + chunk) * (pc.D + 2u);
            partials[out_base + pc.D] = m[hh];
            partials[out_base + pc.D + 1u] = sum[hh];
        }
    sync_weights();  // the next chunk rewrites weights[] and slot_part[]
}

// Decode with the context split (pc.chunks > 1): chunk gl_WorkGroupID.x of the one query.
// Otherwise (one chunk covers the cache, or prefill: query rows ROWS gl_WorkGroupID.z.., row r
// at position pos[0] + r) each workgroup walks all the keys its queries see, a chunk at a time.
void main()
{
    uint q_row = gl_WorkGroupID.z * ROWS, h0 = gl_WorkGroupID.y * HEADS;
    float run_max[MAX_PAIRS], run_sum[MAX_PAIRS];
    uint length[MAX_PAIRS];  // the last pair has the longest
    [[unroll]] for (uint hh = 0u; hh < PAIRS; hh++) {
        run_max[hh] = ATTN_MASKED;
        run_sum[hh] = 0.0;
        length[hh] = pos[0] + pair_row(q_row, hh) + 1u;
    }
    if (pc.chunks > 1u) attend_chunk(0u, h0, gl_WorkGroupID.x, length, run_max, run_sum);
    else
        for (uint chunk = 0u; chunk * CHUNK < length[PAIRS - 1u]; chunk++)
            attend_chunk(q_row, h0, chunk, length, run_max, run_sum);
}

#else  // storage-buffer path
#define REDUCE_WORKGROUP_SIZE ATTN_WG
#include "reduce.glsl"

#ifdef KEY_LANES
#define KV_VEC4  // needs D % 4 == 0 (vkl_attention_variant)
#endif
layout(local_size_x = ATTN_WG) in;
layout(binding = 0) readonly buffer Q { float q[]; };
#include "kv.glsl"
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer Partials { float partials[]; };

shared float scores[ATTN_CHUNK];

#ifdef KEY_LANES
// GPUs: every K and V read is a 16-byte load (8 with f16) by neighbouring lanes on neighbouring
// values of a row, and each invocation keeps several in flight. The one-invocation-per-key
// path walks a chunk's 64 keys one 4-byte load after another in the V sum, which left an H100
// waiting on memory (Llama-2-7B decode at context 640: 103 us per token against 29 at the
// roofline).
#define LANE_KEYS 8u  // keys a subgroup scores at once, their loads in flight together
#define V_KEYS 8u     // keys an invocation adds to its V sum at once, likewise
shared vec4 q_quads[ATTN_DMAX / 4u];
shared vec4 v_part[ATTN_WG];

// Scores of keys [start, end) into scores[], a subgroup taking LANE_KEYS keys at a time and its
// lanes splitting the head dimension, 4 values each; subgroupAdd sums the lanes' parts.
// Rows and bases count quads (4 values).
void key_scores(uint start, uint end, uint stride4, uint base4, inout float local_max)
{
    uint lane = gl_SubgroupInvocationID, quads = pc.D / 4u, step = gl_NumSubgroups * LANE_KEYS;
    for (uint k0 = start + gl_SubgroupID * LANE_KEYS; k0 < end; k0 += step) {
        float part[LANE_KEYS];
        uint row[LANE_KEYS];
        [[unroll]] for (uint r = 0u; r < LANE_KEYS; r++) {
            part[r] = 0.0;
            row[r] = min(k0 + r, end - 1u) * stride4 + base4;  // keys past the end repeat the last, unstored
        }
        for (uint d = lane; d < quads; d += gl_SubgroupSize)
            [[unroll]] for (uint r = 0u; r < LANE_KEYS; r++) part[r] += dot(q_quads[d], load_k4(row[r] + d));
        [[unroll]] for (uint r = 0u; r < LANE_KEYS; r++) {
            float s = subgroupAdd(part[r]);
            if (k0 + r < end) {
                if (subgroupElect()) scores[k0 + r - start] = s;
                local_max = max(local_max, s);
            }
        }
    }
}

// The chunk's sum of p_k V[k] into partials[out_base..]: invocation tid adds quad tid % quads of
// every groups-th key from start + tid / quads, V_KEYS keys at a time; the groups' sums then
// meet in shared memory. Call in uniform control flow.
void value_sums(uint start, uint end, uint stride4, uint base4, uint out_base)
{
    uint tid = gl_LocalInvocationID.x, quads = pc.D / 4u, groups = ATTN_WG / quads;
    uint s = tid % quads, g = tid / quads;
    vec4 acc = vec4(0.0);
    if (g < groups)
        for (uint k0 = start + g; k0 < end; k0 += groups * V_KEYS) {
            vec4 v[V_KEYS];
            float p[V_KEYS];
            [[unroll]] for (uint j = 0u; j < V_KEYS; j++) {  // keys past the end: the last, weighted 0
                uint k = k0 + groups * j;
                p[j] = k < end ? scores[k - start] : 0.0;
                v[j] = load_v4(min(k, end - 1u) * stride4 + base4 + s);
            }
            [[unroll]] for (uint j = 0u; j < V_KEYS; j++) acc = fma(vec4(p[j]), v[j], acc);
        }
    v_part[tid] = acc;
    barrier();
    if (tid < quads) {
        for (uint j = 1u; j < groups; j++) acc += v_part[j * quads + tid];
        [[unroll]] for (uint c = 0u; c < 4u; c++) partials[out_base + 4u * tid + c] = acc[c];
    }
}
#else
shared float q_vec[ATTN_DMAX];
#endif

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
    float local_max = ATTN_MASKED;
#ifdef KEY_LANES
    for (uint d = tid; d < pc.D / 4u; d += ATTN_WG)
        q_quads[d] = vec4(q[h * pc.D + 4u * d], q[h * pc.D + 4u * d + 1u], q[h * pc.D + 4u * d + 2u],
                          q[h * pc.D + 4u * d + 3u]) * pc.scale;
    barrier();
    key_scores(start, end, stride / 4u, kv_base / 4u, local_max);
#else
    for (uint d = tid; d < pc.D; d += ATTN_WG) q_vec[d] = q[h * pc.D + d] * pc.scale;
    barrier();
    for (uint k = start + tid; k < end; k += ATTN_WG) {
        float s = 0.0;
        for (uint d = 0u; d < pc.D; d++) s = fma(q_vec[d], load_k(k * stride + kv_base + d), s);
        scores[k - start] = s;
        local_max = max(local_max, s);
    }
#endif
    float chunk_max = workgroup_max(local_max);  // its barriers also publish scores[]
    float local_sum = 0.0;
    for (uint k = start + tid; k < end; k += ATTN_WG) {
        float p = exp(scores[k - start] - chunk_max);
        scores[k - start] = p;
        local_sum += p;
    }
    float chunk_sum = workgroup_sum(local_sum);  // and publish the probabilities
#ifdef KEY_LANES
    value_sums(start, end, stride / 4u, kv_base / 4u, out_base);
#else
    for (uint d = tid; d < pc.D; d += ATTN_WG) {
        float a = 0.0;
        for (uint k = start; k < end; k++) a = fma(scores[k - start], load_v(k * stride + kv_base + d), a);
        partials[out_base + d] = a;
    }
#endif
    if (tid == 0u) {
        partials[out_base + pc.D] = chunk_max;
        partials[out_base + pc.D + 1u] = chunk_sum;
    }
}
#endif
