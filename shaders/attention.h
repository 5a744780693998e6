// attention: causal masked softmax attention of M queries over a layer's KV cache.
// Query m sits at position p0 + m (p0 = pos[0], a device buffer) and attends keys 0..p0+m.
// o[m, h] = softmax_k(scale q[m, h] . K[k, kvh]) V[k, kvh], kvh = h / (H / KVH) (MHA, GQA, MQA).
// Cache layout as kv_append.h: (capacity, KVH, D), f32 or f16 packed two per word.
//
// Prefill (attention_prefill.comp, any M): flash-style. A workgroup takes BQ queries of one
// head and streams K/V tiles of BK keys through shared memory, keeping a running max and sum
// per query, so memory does not grow with the context. Its tiled variants (GPUs,
// attention_prefill_tiled.glsl) take ATTN_TILED_BQ queries and work on register tiles.
// Decode (M = 1): attention_decode.comp splits the keys into chunks of CHUNK across
// workgroups, each writing an unnormalised partial (acc[D], max, sum); attention_merge.comp
// combines the chunks of each head. The chunk count follows the capacity, not the current
// length, so a recorded command buffer stays valid as the context grows.
// Texel path (CPU devices): attention_decode.comp with TEXEL does both; for prefill, and for
// decode where one chunk covers the cache (chunks = 1), a workgroup per query row walks the
// keys its query sees chunk by chunk, merging as it goes, and writes o (binding 5) itself.
//
// Bindings, prefill and decode: 0 q (M, H, D) f32 · 1 k_cache · 2 v_cache · 3 pos (1) u32 ·
// 4 o (M, H, D) f32 (prefill) or partials (H, chunks, D + 2) f32 (decode; texel path: 4
// partials, 5 o).
// Merge: 0 partials · 1 o (1, H, D).
#ifndef VKLLM_ATTENTION_H
#define VKLLM_ATTENTION_H

#include "push.h"

#define ATTN_WG 128u
#define ATTN_BQ 8u       // prefill queries per workgroup; ATTN_BQ * ATTN_BK == ATTN_WG
#define ATTN_BK 16u      // prefill keys per tile
#define ATTN_TILED_BQ 32u    // prefill, tiled variants (GPUs): queries per workgroup; 4 * ATTN_WG / ATTN_BK
#define ATTN_TILED_DMAX 128u // tiled variants: largest head dimension (shared memory)
#define ATTN_DMAX 256u   // largest head dimension
// Decode keys per workgroup (storage path). 64 gives workgroups enough for a GPU at short
// contexts: on an H100, Llama-2-7B decode attention at context 640 took 257 us per token (4
// layers) with 256 keys, 153 with 128, 103 with 64 (benchmarks/results/nvidia-h100/).
#define ATTN_CHUNK 64u
#define ATTN_MASKED -3.0e38  // score of a masked key; finite, so max and exp need no inf rules
#define ATTN_MERGE_WG 64u    // decode merge: one invocation per output value
#define ATTN_TEXEL_WG 8u       // decode, texel path: invocations per workgroup
#define ATTN_TEXEL_CHUNK 512u  // decode, texel path: keys per workgroup (stories260K's whole context)
#define ATTN_TEXEL_PAIRS 4u    // texel path: most (query row, head) pairs per workgroup

PUSH_CONSTANTS(attention_push)
{
    uint32_t M;       // queries
    uint32_t H;       // query heads
    uint32_t KVH;     // key/value heads, divides H
    uint32_t D;       // head dimension, <= ATTN_DMAX
    uint32_t chunks;  // decode: ceil(capacity / ATTN_CHUNK) (texel path: ATTN_TEXEL_CHUNK)
    float scale;      // 1 / sqrt(D)
} PUSH_INSTANCE;

#endif
