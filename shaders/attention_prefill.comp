#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Flash-style prefill attention; see attention.h.
// The head dimension is a specialization constant so that every loop inside the key-tile loop
// has a constant trip count and is unrolled: llvmpipe (lavapipe) stops a shader invocation
// after 65535 loop iterations in total, silently, which a runtime D bound would reach at
// contexts of a few thousand keys.
//! variant f32
//! variant f16 -DKV_F16
//! variant tiled_f32 -DTILED
//! variant tiled_f16 -DTILED -DKV_F16
#include "attention.h"

#ifdef TILED
#include "attention_prefill_tiled.glsl"
#else

#define BQ ATTN_BQ
#define BK ATTN_BK
#define DMAX ATTN_DMAX
#define COLS (ATTN_WG / BQ)  // invocations per query row in the output update

layout(local_size_x = ATTN_WG) in;
layout(constant_id = 0) const uint HEAD_DIM = 64u;  // = pc.D
layout(binding = 0) readonly buffer Q { float q[]; };
#include "kv.glsl"
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer O { float o[]; };

shared float q_tile[BQ][DMAX];        // pre-scaled queries
shared float kv_tile[BK][DMAX + 1];   // K, then V, of the current tile; +1 against bank conflicts
shared float probs[BQ][BK];           // scores, then probabilities
shared float row_max[BQ], row_sum[BQ], row_scale[BQ];

void load_tile(uint k0, uint last_key, uint kv_head, bool values)
{
    uint stride = pc.KVH * HEAD_DIM;
    [[unroll]] for (uint e0 = 0u; e0 < BK * HEAD_DIM; e0 += ATTN_WG) {
        uint e = e0 + gl_LocalInvocationID.x;
        if (e >= BK * HEAD_DIM) break;
        uint kk = e / HEAD_DIM, d = e % HEAD_DIM, key = k0 + kk, at = key * stride + kv_head * HEAD_DIM + d;
        kv_tile[kk][d] = key > last_key ? 0.0 : values ? load_v(at) : load_k(at);
    }
}

// Folds the tile's scores of query row r into its running max and sum; leaves probabilities.
void update_row(uint r)
{
    float old_max = row_max[r], new_max = old_max;
    [[unroll]] for (uint kk = 0u; kk < BK; kk++) new_max = max(new_max, probs[r][kk]);
    float alpha = exp(old_max - new_max);  // 1 while all masked, 0 on the first visible key
    float sum = row_sum[r] * alpha;
    [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
        float s = probs[r][kk];
        float p = s == ATTN_MASKED ? 0.0 : exp(s - new_max);
        probs[r][kk] = p;
        sum += p;
    }
    row_max[r] = new_max;
    row_sum[r] = sum;
    row_scale[r] = alpha;
}

void main()
{
    uint tid = gl_LocalInvocationID.x, h = gl_WorkGroupID.y, kv_head = h / (pc.H / pc.KVH);
    uint m0 = gl_WorkGroupID.x * BQ, rows = min(BQ, pc.M - m0), p0 = pos[0];
    for (uint e = tid; e < BQ * DMAX; e += ATTN_WG) {
        uint r = e / DMAX, d = e % DMAX;
        q_tile[r][d] = (r < rows && d < pc.D) ? q[((m0 + r) * pc.H + h) * pc.D + d] * pc.scale : 0.0;
    }
    if (tid < BQ) {
        row_max[tid] = ATTN_MASKED;
        row_sum[tid] = 0.0;
    }
    uint out_row = tid / COLS, out_col = tid % COLS;
    float acc[DMAX / COLS];
    for (uint j = 0u; j < DMAX / COLS; j++) acc[j] = 0.0;

    uint last_key = p0 + m0 + rows - 1u;  // the block's last query sees keys 0..last_key
    for (uint k0 = 0u; k0 <= last_key; k0 += BK) {
        barrier();  // the previous tile is consumed
        load_tile(k0, last_key, kv_head, false);
        barrier();
        uint r = tid / BK, kk = tid % BK;  // one score per invocation
        float s = 0.0;
        [[unroll]] for (uint d = 0u; d < HEAD_DIM; d++) s = fma(q_tile[r][d], kv_tile[kk][d], s);
        probs[r][kk] = (r < rows && k0 + kk <= p0 + m0 + r) ? s : ATTN_MASKED;  // the causal mask
        barrier();
        if (tid < BQ) update_row(tid);
        load_tile(k0, last_key, kv_head, true);  // V over K: every score is computed
        barrier();
        float alpha = row_scale[out_row];
        [[unroll]] for (uint j = 0u; j < (HEAD_DIM + COLS - 1u) / COLS; j++) {
            uint d = out_col + j * COLS;
            if (d >= HEAD_DIM) break;
            float a = acc[j] * alpha;
            [[unroll]] for (uint t = 0u; t < BK; t++) a = fma(probs[out_row][t], kv_tile[t][d], a);
            acc[j] = a;
        }
    }
    if (out_row >= rows) return;
    float inv_sum = 1.0 / row_sum[out_row];
    for (uint j = 0u; j < DMAX / COLS; j++) {
        uint d = out_col + j * COLS;
        if (d >= pc.D) break;
        o[((m0 + out_row) * pc.H + h) * pc.D + d] = acc[j] * inv_sum;
    }
}
#endif
