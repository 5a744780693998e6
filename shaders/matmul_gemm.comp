#version 450
#extension GL_GOOGLE_include_directive : require
// GEMM path of matmul (prefill, M > 1): shared-memory tiles of x and W, BM x BN outputs per
// workgroup, TM x TN accumulators per invocation, f32 accumulation.
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant moe_f32 -DMOE_GROUPED
//! variant moe_f16 -DMOE_GROUPED -DWEIGHT_F16
#include "matmul.h"

#define BM MATMUL_GEMM_BM
#define BN MATMUL_GEMM_BN
#define BK MATMUL_GEMM_BK
#define TM MATMUL_GEMM_TM
#define TN MATMUL_GEMM_TN
#define WG MATMUL_GEMM_WG

layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
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
