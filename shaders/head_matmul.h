// head_matmul: a matrix per head, y[m, h] = W[h] x[m, h] for rows m and heads h:
//   y[m, h, n] = sum_k W[h, n, k] x[m, h, k]
// Multi-head latent attention's up-projections run through it: the query's absorption
// (W = attn_k_b, (H, L, nope)) and the latent output's value projection (W = attn_v_b,
// (H, v, L)). An invocation per output value takes its dot product 4 values at a time (K % 4 == 0).
// Bindings: 0 x (M, H, K) f32 · 1 W (H, N, K) f32 or f16 (weights.glsl; texel variants read it
// as RGBA32UI texels) · 2 y (M, H, N) f32.
#ifndef VKLLM_HEAD_MATMUL_H
#define VKLLM_HEAD_MATMUL_H

#include "push.h"

#define HEAD_MATMUL_WG 64u

PUSH_CONSTANTS(head_matmul_push)
{
    uint32_t M;         // rows
    uint32_t H;         // heads
    uint32_t N;         // outputs per head
    uint32_t K;         // inputs per head, % 4 == 0
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
