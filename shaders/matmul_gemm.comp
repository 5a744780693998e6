#version 450
#extension GL_GOOGLE_include_directive : require
// GEMM path of matmul (prefill, M > 1): shared-memory tiles of x and W, BM x BN outputs per
// workgroup, TM x TN accumulators per invocation, f32 accumulation.
//! variant f32
//! variant f16 -DWEIGHT_F16
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

// K-major tiles; the +1 pad keeps the transposing stores free of bank conflicts.
shared float x_tile[BK][BM + 1];
shared float w_tile[BK][BN + 1];

void load_tiles(uint m0, uint n0, uint k0, uint tid)
{
    for (uint e = tid; e < BM * BK; e += WG) {
        uint r = e / BK, kk = e % BK, m = m0 + r, k = k0 + kk;
        x_tile[kk][r] = (m < pc.M && k < pc.K) ? x[m * pc.K + k] : 0.0;
    }
    for (uint e = tid; e < BN * BK; e += WG) {
        uint r = e / BK, kk = e % BK, n = n0 + r, k = k0 + kk;
        w_tile[kk][r] = (n < pc.N && k < pc.K) ? weight_at(n * pc.K + k) : 0.0;
    }
}

void main()
{
    uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    uint tid = gl_LocalInvocationID.x;
    uint tn = tid % (BN / TN), tm = tid / (BN / TN);
    float acc[TM][TN];
    for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        load_tiles(m0, n0, k0, tid);
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
            if (m < pc.M && n < pc.N) y[m * pc.N + n] = acc[i][j];
        }
    }
}
