// Prefill attention for GPUs (variants tiled_*, D % 4 == 0, D <= ATTN_TILED_DMAX): as the flash
// kernel of attention_prefill.comp, but ATTN_TILED_BQ queries per workgroup share each K and V
// tile (ATTN_BQ there), and each invocation works on a register tile: 4 queries x 1 key of
// scores, 4 queries x D / 64 quads of the output, reading shared memory as 16-byte vectors. The
// flash kernel spends two shared-memory loads per FMA; on an H100 it ran at 4-7 % of the f32 FMA
// peak, this one at 10-20 % (benchmarks/README.md, thirteenth stop). No subgroup operations, so
// any subgroup size is right. Shared memory: 27 KB at the largest D, under lavapipe's 32 KB.
#define BQ ATTN_TILED_BQ
#define BK ATTN_BK
#define QUADS_MAX (ATTN_TILED_DMAX / 4u)
#define QG (ATTN_WG / BK)              // query groups of 4 in the scores: BQ / 4
#define DG (ATTN_WG / (BQ / 4u))       // quad columns in the output update: 16
#define SLOTS_MAX (QUADS_MAX / DG)     // output quads per invocation at the largest D

layout(local_size_x = ATTN_WG) in;
layout(constant_id = 0) const uint HEAD_DIM = 64u;  // = pc.D; loops over it unroll
const uint QUADS = HEAD_DIM / 4u, SLOTS = (QUADS + DG - 1u) / DG;
layout(binding = 0) readonly buffer Q { vec4 q4[]; };
#define KV_VEC4
#include "kv.glsl"
layout(binding = 3) readonly buffer Pos { uint pos[]; };
layout(binding = 4) writeonly buffer O { vec4 o4[]; };

shared vec4 q_tile[BQ][QUADS_MAX];         // pre-scaled queries (read by broadcast: no padding)
shared vec4 kv_tile[BK][QUADS_MAX + 1u];   // K, then V, of the current tile; +1 against bank conflicts
shared vec4 probs[BK][BQ / 4u];            // [key][query / 4]: scores, then probabilities
shared float row_max[BQ], row_sum[BQ], row_scale[BQ];

// Keys k0.. of the KV head into kv_tile, as 16-byte loads; keys past last_key (no query of the
// block sees them: they may hold anything) as zeros.
void load_tile(uint k0, uint last_key, uint kv_head, bool values)
{
    uint stride4 = pc.KVH * QUADS;
    [[unroll]] for (uint e0 = 0u; e0 < BK * QUADS; e0 += ATTN_WG) {
        uint e = e0 + gl_LocalInvocationID.x;
        if (e >= BK * QUADS) break;
        uint kk = e / QUADS, d4 = e % QUADS, key = k0 + kk, at = key * stride4 + kv_head * QUADS + d4;
        kv_tile[kk][d4] = key > last_key ? vec4(0.0) : values ? load_v4(at) : load_k4(at);
    }
}

float prob_at(uint kk, uint r) { return probs[kk][r / 4u][r % 4u]; }

// Folds the tile's scores of query row r into its running max and sum; leaves probabilities.
void update_row(uint r)
{
    float old_max = row_max[r], new_max = old_max;
    [[unroll]] for (uint kk = 0u; kk < BK; kk++) new_max = max(new_max, prob_at(kk, r));
    float alpha = exp(old_max - new_max);  // 1 while all masked, 0 on the first visible key
    float sum = row_sum[r] * alpha;
    [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
        float s = prob_at(kk, r);
        float p = s == ATTN_MASKED ? 0.0 : exp(s - new_max);
        probs[kk][r / 4u][r % 4u] = p;
        sum += p;
    }
    row_max[r] = new_max;
    row_sum[r] = sum;
    row_scale[r] = alpha;
}

// Scores of key k0 + kk for queries 4 qg..4 qg + 3 of the block, masked where causal order or
// the block's end hides the key, into probs[kk][qg].
void scores(uint k0, uint kk, uint qg, uint m0, uint rows, uint p0)
{
    vec4 s = vec4(0.0);
    [[unroll]] for (uint d4 = 0u; d4 < QUADS; d4++) {
        vec4 k = kv_tile[kk][d4];
        [[unroll]] for (uint i = 0u; i < 4u; i++) s[i] += dot(q_tile[4u * qg + i][d4], k);
    }
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        uint r = 4u * qg + i;
        if (r >= rows || k0 + kk > p0 + m0 + r) s[i] = ATTN_MASKED;
    }
    probs[kk][qg] = s;
}

void main()
{
    uint tid = gl_LocalInvocationID.x, h = gl_WorkGroupID.y, kv_head = h / (pc.H / pc.KVH);
    uint m0 = gl_WorkGroupID.x * BQ, rows = min(BQ, pc.M - m0), p0 = pos[0];
    for (uint e = tid; e < BQ * QUADS; e += ATTN_WG) {
        uint r = e / QUADS, d4 = e % QUADS;
        q_tile[r][d4] = r < rows ? q4[((m0 + r) * pc.H + h) * QUADS + d4] * pc.scale : vec4(0.0);
    }
    if (tid < BQ) {
        row_max[tid] = ATTN_MASKED;
        row_sum[tid] = 0.0;
    }
    uint score_key = tid % BK, score_group = tid / BK;  // scores: 4 queries x 1 key
    uint out_group = tid / DG, out_col = tid % DG;      // output: 4 queries x SLOTS quads
    vec4 acc[4][SLOTS_MAX];
    [[unroll]] for (uint i = 0u; i < 4u; i++)
        [[unroll]] for (uint j = 0u; j < SLOTS_MAX; j++) acc[i][j] = vec4(0.0);

    uint last_key = p0 + m0 + rows - 1u;  // the block's last query sees keys 0..last_key
    for (uint k0 = 0u; k0 <= last_key; k0 += BK) {
        barrier();  // the previous tile is consumed
        load_tile(k0, last_key, kv_head, false);
        barrier();
        scores(k0, score_key, score_group, m0, rows, p0);
        barrier();
        if (tid < BQ) update_row(tid);
        load_tile(k0, last_key, kv_head, true);  // V over K: every score is computed
        barrier();
        [[unroll]] for (uint i = 0u; i < 4u; i++) {
            float alpha = row_scale[4u * out_group + i];
            [[unroll]] for (uint j = 0u; j < SLOTS; j++) acc[i][j] *= alpha;
        }
        [[unroll]] for (uint t = 0u; t < BK; t++) {
            vec4 p = probs[t][out_group];
            [[unroll]] for (uint j = 0u; j < SLOTS; j++) {
                vec4 v = kv_tile[t][min(out_col + j * DG, QUADS - 1u)];  // quads past the last: unstored
                [[unroll]] for (uint i = 0u; i < 4u; i++) acc[i][j] = fma(vec4(p[i]), v, acc[i][j]);
            }
        }
    }
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        uint r = 4u * out_group + i;
        if (r >= rows) break;
        float inv_sum = 1.0 / row_sum[r];
        [[unroll]] for (uint j = 0u; j < SLOTS; j++) {
            uint d4 = out_col + j * DG;
            if (d4 < QUADS) o4[((m0 + r) * pc.H + h) * QUADS + d4] = acc[i][j] * inv_sum;
        }
    }
}
