// matmul: y[M,N] = x[M,K] · W[N,K]ᵀ, W row-major as llama2.c and GGUF store it.
// Bindings: 0 x (M, K) f32 · 1 W (N, K) f32, or f16 packed two per 32-bit word · 2 y (M, N) f32.
// Grouped GEMM (MoE experts, matmul_gemm.comp with MOE_GROUPED): W is (E, N, K); workgroup row
// n takes tile n of the tile map from moe_count (see moe.h), rows of one expert; y rows are the
// permuted rows. Extra bindings: 3 tiles · 4 perm · 5 offsets.
// Element indices must fit in 32 bits (each binding is at most maxStorageBufferRange anyway).
#ifndef VKLLM_MATMUL_H
#define VKLLM_MATMUL_H

#include "push.h"

// GEMV (matmul_gemv.comp): one workgroup per output element y[m, n].
#define MATMUL_GEMV_WG 128u
// GEMM (matmul_gemm.comp): a workgroup computes a BM x BN tile of y, stepping K by BK; each
// invocation holds a TM x TN block of accumulators.
#define MATMUL_GEMM_BM 64u
#define MATMUL_GEMM_BN 64u
#define MATMUL_GEMM_BK 16u
#define MATMUL_GEMM_TM 4u
#define MATMUL_GEMM_TN 4u
#define MATMUL_GEMM_WG ((MATMUL_GEMM_BM / MATMUL_GEMM_TM) * (MATMUL_GEMM_BN / MATMUL_GEMM_TN))
// The large-tile candidate (matmul_gemm.comp with LARGE_TILES): 128 x 128 outputs, 8 x 8 per
// invocation of a 16 x 16 workgroup; the shader's layout assumes exactly these values.
#define MATMUL_GEMM_LARGE_BM 128u
#define MATMUL_GEMM_LARGE_BN 128u
#define MATMUL_GEMM_LARGE_BK 16u
#define MATMUL_GEMM_LARGE_WG 256u

// GEMV through texels (matmul_gemv.comp with TEXEL, for CPU devices): a workgroup of
// MATMUL_GEMV_TEXEL_WG invocations computes MATMUL_GEMV_TEXEL_ROWS outputs, so each x texel it
// fetches serves that many weight texels. Needs K % 4 == 0 (f32) or K % 8 == 0 (f16 weights).
#define MATMUL_GEMV_TEXEL_WG 8u
#define MATMUL_GEMV_TEXEL_ROWS 8u
// The same row blocks read from storage buffers (ROW_BLOCKS, for GPUs): workgroups of
// MATMUL_GEMV_ROWS_WG, each invocation with ROWS weight vectors in flight per step.
#define MATMUL_GEMV_ROWS_WG 64u
// Outputs per workgroup of the plain GEMV there (matmul's rows variants; attn_qkv and the MoE
// GEMV keep MATMUL_GEMV_TEXEL_ROWS), and the steps along K unrolled (all of them). ffn_gate_up
// runs in workgroups of MATMUL_GATE_UP_WG. Chosen from a sweep on an H100 (rows 1-8, unroll
// 1-4, workgroups 32-256; benchmarks/results/nvidia-h100/gemv-sweep.md): 8 rows, no unrolling
// and 128 invocations before.
#define MATMUL_GEMV_ROWS_ROWS 2u
#define MATMUL_GEMV_ROWS_UNROLL 2u
#define MATMUL_GATE_UP_WG 32u
// ffn_gate_up (the same shader with GATE_UP): rows of each of W_gate and W_up per workgroup.
#define MATMUL_GATE_UP_ROWS 4u
// GEMM through texels (the same shader with MT): MATMUL_GEMM_TEXEL_MT rows of x by
// MATMUL_GEMM_TEXEL_ROWS rows of W per workgroup (the MoE grouped GEMM: MATMUL_GEMV_TEXEL_ROWS
// or MATMUL_GATE_UP_ROWS), so each texel fetched serves 16 products: llvmpipe pays per fetch.
// Measured on lavapipe (512 x 256 x 2048): 4 x 8 18.5 ms, 8 x 8 16.5, 16 x 8 12.9, 32 x 8 14.7,
// 16 x 16 12.4, 8 x 16 14.7, 16 x 32 13.7, 32 x 16 14.2 (f32 weights).
#define MATMUL_GEMM_TEXEL_MT 16u
#define MATMUL_GEMM_TEXEL_ROWS 16u
// The row-block GEMMs of quantized weights (gemm_texel and, on storage buffers for GPUs,
// gemm_rows): MATMUL_GEMM_QUANT_MT x rows by MATMUL_GEMV_TEXEL_ROWS rows of W per workgroup. The
// f32 texel GEMM's 16 x 16 tile, unrolled over a K-quant's 128-value unit, took llvmpipe 39 s
// to compile (Q6_K); gemm_rows' shared partials stay small (4 x 8 x 64 floats). Not tuned yet.
#define MATMUL_GEMM_QUANT_MT 4u
// The MoE grouped GEMM's tiles: rows of one expert (few per expert in a short prefill, where
// tiles of 16 rows ran 4 % slower end to end than tiles of 4).
#define MATMUL_MOE_TEXEL_MT 4u

PUSH_CONSTANTS(matmul_push)
{
    uint32_t M;
    uint32_t N;
    uint32_t K;
    uint32_t groups_x;  // GEMV: workgroups along x; row n = group.y * groups_x + group.x
    uint32_t topk;      // grouped (MoE) GEMM: x row of permuted row r is perm[r] / topk; 0: r
    uint32_t n_kv;      // attn_qkv: rows of W_k and W_v (N: rows of W_q)
    float eps;          // attn_qkv, ffn_gate_up: the RMSNorm folded into them (see matmul_gemv.comp)
    uint32_t head_dim;  // attn_qkv: heads of q and k, whose first rope_dim values rotate in
    uint32_t rope_dim;  //   adjacent pairs by the angle table's row for their position
    uint32_t table_rows;// attn_qkv: rows of the angle table = rows of the KV caches
    uint32_t tiles;     // grouped (MoE) texel GEMM: entries in the tile map
    uint32_t w_rows;    // grouped (MoE), quantized weights: rows of W, all experts' (E N)
} PUSH_INSTANCE;

#endif
