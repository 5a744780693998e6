// MoE routing and combine (Mixtral / Qwen-MoE style), in four steps:
//   moe_route:   per token, softmax of the router logits over E experts and the top k
//                experts, chosen on the logits (exact, so ties go to the lower index);
//                weights are the k probabilities, optionally renormalised to sum to 1, times a scale.
//   moe_count:   one workgroup: per-expert counts, offsets, the permutation that lists each
//                expert's (token, slot) entries in token order, its inverse, the tile map of
//                the grouped matmul, and the mean router probability per expert.
//   matmul_gemm.moe_*: the expert FFN as grouped matmuls over only the routed rows.
//   moe_combine: out[t] = sum_j weight[t, j] * y[inv[t * k + j]].
// Entry i = t * k + j is slot j of token t. Permuted row r of expert e lies in
// [offsets[e], offsets[e + 1]); perm[r] = i and inv[i] = r.
// Tiles: tile n covers rows tiles[2n+1] .. of expert tiles[2n]; MOE_NO_TILE past the last.
#ifndef VKLLM_MOE_H
#define VKLLM_MOE_H

#include "push.h"

#define MOE_WG 256u
// moe_route: a workgroup per token, over its E logits; few experts leave most invocations
// idle, and on llvmpipe every barrier costs per invocation.
#define MOE_ROUTE_WG 64u
#define MOE_MAX_EXPERTS 256u
#define MOE_MAX_K 8u
#define MOE_NO_TILE 0x00FFFFFFu  // exact in f32, as the checker carries u32 values

#ifndef MOE_CONSTANTS_ONLY  // the grouped matmul shares the constants, not the push block
PUSH_CONSTANTS(moe_push)
{
    uint32_t T;          // tokens
    uint32_t E;          // experts, <= MOE_MAX_EXPERTS
    uint32_t k;          // experts per token, <= MOE_MAX_K
    uint32_t renorm;     // moe_route: 1 to renormalise the k weights
    uint32_t D;          // moe_combine: model width
    uint32_t max_tiles;  // moe_count: entries in the tile map
    uint32_t tile_rows;  // moe_count: rows per tile (the grouped matmul's MATMUL_GEMM_BM)
    uint32_t groups_x;   // see grid.glsl
    float scale;         // moe_route: the k weights' factor (DeepSeek's expert_weights_scale; 1 otherwise)
} PUSH_INSTANCE;
#endif

#endif
