#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// GEMM path of matmul (prefill, M > 1): shared-memory tiles of x and W, BM x BN outputs per
// workgroup, TM x TN accumulators per invocation, f32 accumulation.
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant moe_f32 -DMOE_GROUPED
//! variant moe_f16 -DMOE_GROUPED -DWEIGHT_F16
//! variant large_f32 -DLARGE_TILES
//! variant large_f16 -DLARGE_TILES -DWEIGHT_F16
// LARGE_TILES (a candidate for GPUs, timed beside the default by `vkllm bench`): 128 x 128
// outputs per workgroup, 8 x 8 per invocation read from shared memory as vec4s, so each value
// read serves 8 FMAs (4 x 4: 4), tiles fetched as 16-byte vectors where K allows, and the next
// tile's fetch issued before this tile's arithmetic.
#include "matmul.h"

#ifdef LARGE_TILES
#ifdef MOE_GROUPED
#error "the MoE tile map is built for MATMUL_GEMM_BM rows"
#endif
#define BM MATMUL_GEMM_LARGE_BM
#define BN MATMUL_GEMM_LARGE_BN
#define BK MATMUL_GEMM_LARGE_BK
#define WG MATMUL_GEMM_LARGE_WG
#else
#define BM MATMUL_GEMM_BM
#define BN MATMUL_GEMM_BN
#define BK MATMUL_GEMM_BK
#define TM MATMUL_GEMM_TM
#define TN MATMUL_GEMM_TN
#define WG MATMUL_GEMM_WG
#endif

layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
#include "weights.glsl"
layout(binding = 2) writeonly buffer Y { float y[]; };
#ifdef MOE_GROUPED
#define MOE_CONSTANTS_ONLY
#include "moe.h"
layout(binding = 3) readonly buffer Tiles { uint tiles[]; };
layout(binding = 4) readonly buffer Perm { uint perm[]; };
layout(binding = 5) readonly buffer Offsets { uint offsets[]; };
uint x_row(uint r) { return pc.topk > 0u ? perm[r] / pc.topk : r; }
#else
uint x_row(uint r) { return r; }
#endif

#ifdef LARGE_TILES
// Invocation (tm, tn) of a 16 x 16 grid owns rows tm * 4 + {0..3} and BM / 2 + tm * 4 + {0..3},
// columns likewise: its vec4 reads of a shared row are then side by side across a subgroup's
// columns (no bank conflicts) and shared by its rows (broadcast). Tiles are K-major, padded by
// one vec4 so that the transposing stores conflict at most 2 ways.
shared vec4 x_tile[BK][BM / 4u + 1u];
shared vec4 w_tile[BK][BN / 4u + 1u];
#ifdef WEIGHT_F16
#define W_RUN 8u  // consecutive k of one W row per invocation and tile: one 16-byte vector of halves
#else
#define W_RUN 4u
#endif
#define X_PARTS (BM * BK / 4u / WG)  // vec4s of x per invocation and tile
#define W_PARTS (BN * BK / W_RUN / WG)

// 4 consecutive x values of row m from k on, zeros past the rows or K; `vectors`: K % 8 == 0
// (f16) or K % 4 == 0, so a vector is all in or all out and starts on 16 bytes.
vec4 fetch_x(uint m, uint row_end, uint k, bool vectors)
{
    if (m >= row_end) return vec4(0.0);
    uint at = x_row(m) * pc.K + k;
    if (vectors) return k < pc.K ? x4[at / 4u] : vec4(0.0);
    vec4 v;
    for (uint c = 0u; c < 4u; c++) v[c] = k + c < pc.K ? x[at + c] : 0.0;
    return v;
}

// W_RUN consecutive values of W row n from k on, as lo (the first 4) and hi.
void fetch_w(uint n, uint k, uint w_base, bool vectors, out vec4 lo, out vec4 hi)
{
    lo = hi = vec4(0.0);
    if (n >= pc.N) return;
    uint at = w_base + n * pc.K + k;
    if (vectors) {
#ifdef WEIGHT_F16
        if (k < pc.K) {
            uvec4 q = w4[at / 8u];
            lo = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
            hi = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
        }
#else
        if (k < pc.K) lo = w4[at / 4u];
#endif
        return;
    }
    for (uint c = 0u; c < W_RUN; c++) {
        float value = k + c < pc.K ? weight_at(at + c) : 0.0;
        if (c < 4u) lo[c] = value;
        else hi[c - 4u] = value;
    }
}

// This invocation's share of the tiles at k0: part p is vector e = tid + p WG of the tile, row
// e / (BK / run), k offset run (e % (BK / run)); runs of a row sit side by side in memory.
void fetch_tiles(uint m0, uint row_end, uint n0, uint w_base, uint k0, bool vectors, out vec4 xs[X_PARTS],
                 out vec4 ws[W_PARTS][2])
{
    uint tid = gl_LocalInvocationID.x;
    [[unroll]] for (uint p = 0u; p < X_PARTS; p++) {
        uint e = tid + p * WG;
        xs[p] = fetch_x(m0 + e / (BK / 4u), row_end, k0 + 4u * (e % (BK / 4u)), vectors);
    }
    [[unroll]] for (uint p = 0u; p < W_PARTS; p++) {
        uint e = tid + p * WG;
        fetch_w(n0 + e / (BK / W_RUN), k0 + W_RUN * (e % (BK / W_RUN)), w_base, vectors, ws[p][0], ws[p][1]);
    }
}

void stash_tiles(vec4 xs[X_PARTS], vec4 ws[W_PARTS][2])
{
    uint tid = gl_LocalInvocationID.x;
    [[unroll]] for (uint p = 0u; p < X_PARTS; p++) {
        uint e = tid + p * WG, r = e / (BK / 4u), k = 4u * (e % (BK / 4u));
        for (uint c = 0u; c < 4u; c++) x_tile[k + c][r / 4u][r % 4u] = xs[p][c];
    }
    [[unroll]] for (uint p = 0u; p < W_PARTS; p++) {
        uint e = tid + p * WG, r = e / (BK / W_RUN), k = W_RUN * (e % (BK / W_RUN));
        for (uint c = 0u; c < W_RUN; c++) w_tile[k + c][r / 4u][r % 4u] = ws[p][c / 4u][c % 4u];
    }
}

void main()
{
    uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM, row_end = pc.M, w_base = 0u;
    uint tid = gl_LocalInvocationID.x, tn = tid % 16u, tm = tid / 16u;
    bool vectors = pc.K % W_RUN == 0u;  // uniform
    vec4 acc[8][2];  // [row i][column half]: rows tm * 4 + i (i < 4), BM / 2 + tm * 4 + i - 4
    [[unroll]] for (uint i = 0u; i < 8u; i++) acc[i][0] = acc[i][1] = vec4(0.0);
    vec4 xs[X_PARTS], ws[W_PARTS][2];
    fetch_tiles(m0, row_end, n0, w_base, 0u, vectors, xs, ws);
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        stash_tiles(xs, ws);
        barrier();
        if (k0 + BK < pc.K) fetch_tiles(m0, row_end, n0, w_base, k0 + BK, vectors, xs, ws);  // in flight meanwhile
        [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
            vec4 a[2] = vec4[2](x_tile[kk][tm], x_tile[kk][tm + BM / 8u]);
            vec4 b0 = w_tile[kk][tn], b1 = w_tile[kk][tn + BN / 8u];
            [[unroll]] for (uint i = 0u; i < 8u; i++) {
                float ai = a[i / 4u][i % 4u];
                acc[i][0] = fma(vec4(ai), b0, acc[i][0]);
                acc[i][1] = fma(vec4(ai), b1, acc[i][1]);
            }
        }
        barrier();  // the next stash overwrites the tiles
    }
    [[unroll]] for (uint i = 0u; i < 8u; i++) {
        uint m = m0 + (i < 4u ? 0u : BM / 2u) + tm * 4u + i % 4u;
        if (m >= row_end) continue;
        [[unroll]] for (uint h = 0u; h < 2u; h++) {
            uint n = n0 + h * (BN / 2u) + tn * 4u;
            for (uint c = 0u; c < 4u; c++)
                if (n + c < pc.N) y[m * pc.N + n + c] = acc[i][h][c];
        }
    }
}
#else
// K-major tiles; the +1 pad keeps the transposing stores free of bank conflicts.
shared float x_tile[BK][BM + 1];
shared float w_tile[BK][BN + 1];

// Rows [m0, row_end) of x, columns [n0, n0 + BN) of W starting at element w_base.
void load_tiles(uint m0, uint row_end, uint n0, uint k0, uint w_base, uint tid)
{
    for (uint e = tid; e < BM * BK; e += WG) {
        uint r = e / BK, kk = e % BK, m = m0 + r, k = k0 + kk;
        x_tile[kk][r] = (m < row_end && k < pc.K) ? x[x_row(m) * pc.K + k] : 0.0;
    }
    for (uint e = tid; e < BN * BK; e += WG) {
        uint r = e / BK, kk = e % BK, n = n0 + r, k = k0 + kk;
        w_tile[kk][r] = (n < pc.N && k < pc.K) ? weight_at(w_base + n * pc.K + k) : 0.0;
    }
}

void main()
{
    uint n0 = gl_WorkGroupID.x * BN;
#ifdef MOE_GROUPED
    uint tile = gl_WorkGroupID.y, expert = tiles[2u * tile];
    if (expert == MOE_NO_TILE) return;  // uniform: past the last tile of this batch
    uint m0 = tiles[2u * tile + 1u], row_end = min(m0 + BM, offsets[expert + 1u]), w_base = expert * pc.N * pc.K;
#else
    uint m0 = gl_WorkGroupID.y * BM, row_end = pc.M, w_base = 0u;
#endif
    uint tid = gl_LocalInvocationID.x;
    uint tn = tid % (BN / TN), tm = tid / (BN / TN);
    float acc[TM][TN];
    for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        load_tiles(m0, row_end, n0, k0, w_base, tid);
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[TM], b[TN];
            for (uint i = 0u; i < TM; i++) a[i] = x_tile[kk][tm + i * (BM / TM)];
            for (uint j = 0u; j < TN; j++) b[j] = w_tile[kk][tn + j * (BN / TN)];
            for (uint i = 0u; i < TM; i++)
                for (uint j = 0u; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    for (uint i = 0u; i < TM; i++) {
        uint m = m0 + tm + i * (BM / TM);
        for (uint j = 0u; j < TN; j++) {
            uint n = n0 + tn + j * (BN / TN);
            if (m < row_end && n < pc.N) y[m * pc.N + n] = acc[i][j];
        }
    }
}
#endif
