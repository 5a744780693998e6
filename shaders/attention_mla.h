// attention_mla: multi-head latent attention (DeepSeek-V2) over a layer's latent cache, with
// the key up-projection absorbed into the query and the value up-projection left to the caller.
// Each cached token holds its normalised KV latent c (L values) and its RoPE key r (R values,
// one head shared by all). Query m (position p0 + m, p0 = pos[0] a device buffer) of head h
// arrives as its absorbed part a = W_kb[h]T q_nope (L) and its rotated part b (R), and attends
// keys 0..p0+m:
//   o[m, h] = sum_t softmax_t(scale (a . c_t + b . r_t)) c_t          (L values)
// which is multi-query attention with (L + R)-wide keys whose first L values are also the value.
// The caller multiplies o by W_vb[h] for the head's output (head_matmul).
//
// Two passes, as split-context decode attention (attention.h):
//   attention_mla.comp: a workgroup per (head, query, chunk of `chunk` keys) loads a and b,
//     pre-scaled, into shared memory and walks its chunk's keys MLA_WG at a time: each
//     invocation scores one key, the workgroup keeps the running max and sum, and each
//     invocation accumulates 4-value columns of the latent. It writes an unnormalised partial
//     (acc[L], max, sum); chunks past the query's last key write an empty one (sum 0).
//   attention_mla_merge.comp: an invocation per output value combines the chunks by their maxima.
// The chunks follow the capacity (about MLA_CHUNKS of them, MLA_CHUNK_MIN to MLA_CHUNK_MAX keys
// each), so a recorded command buffer stays valid as the context grows and the partials stay
// small at long contexts; the most keys a chunk has also bound each invocation's loop trips
// (llvmpipe ends any shader invocation after 65535 loop iterations in all, silently: one
// workgroup walking 4,000 keys of a 512-wide latent lost keys that way; 8,192 keys of it take
// about 35,000).
//
// Bindings: 0 q_lat (M, H, L) f32 · 1 q_rope (M, H, R) f32 · 2 latent cache (capacity, L) f32 ·
// 3 rope-key cache (capacity, R) f32 · 4 pos (1) u32 · 5 o (M, H, L) f32 ·
// 6 partials (M, H, chunks, L + 2) f32. Merge: 0 partials · 1 o.
#ifndef VKLLM_ATTENTION_MLA_H
#define VKLLM_ATTENTION_MLA_H

#include "push.h"

#define MLA_WG 64u
#define MLA_CHUNKS 16u         // chunks aimed at
#define MLA_CHUNK_MIN 1024u    // keys per workgroup, a multiple of MLA_WG
#define MLA_CHUNK_MAX 8192u
#define MLA_LMAX 1024u       // largest latent rank (DeepSeek-V2 and V3: 512); L % 4 == 0
#define MLA_RMAX 128u        // largest RoPE key width (DeepSeek: 64); R % 4 == 0
#define MLA_MASKED -3.0e38   // running max before the first key; finite, so exp needs no inf rules
#define MLA_MERGE_WG 64u

PUSH_CONSTANTS(attention_mla_push)
{
    uint32_t M;       // queries
    uint32_t H;       // query heads
    uint32_t L;       // latent rank, <= MLA_LMAX
    uint32_t R;       // RoPE key width, <= MLA_RMAX
    uint32_t chunk;   // keys per chunk
    uint32_t chunks;  // ceil(capacity / chunk)
    float scale;      // softmax scale of the scores (DeepSeek: mscale^2 / sqrt(nope + rope head dims))
} PUSH_INSTANCE;

#endif
