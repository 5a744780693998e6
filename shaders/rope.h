// rope: rotary position embedding of Q and K in place, for tokens at positions p0 .. p0+M-1,
// where p0 = pos[0] is read from a device buffer (a recorded command buffer replays for the
// next token unchanged). Only the first R of each head's D dimensions rotate (partial rotary).
// Pair i < R/2 of a head is (2i, 2i+1) in the adjacent layout (llama2.c, GGUF llama) or
// (i, i + R/2) in the split-halves layout (NeoX, Hugging Face). The angles come from a table
// built on the host in double: table[p][i] = (cos, sin)(p * base^(-2i/R)), so no device's
// transcendental precision enters the result.
// Bindings: 0 q (M, H, D) f32 · 1 k (M, KVH, D) f32 · 2 pos (1) u32 · 3 table (rows, R/2, 2) f32.
#ifndef VKLLM_ROPE_H
#define VKLLM_ROPE_H

#include "push.h"

#define ROPE_WG 256u

PUSH_CONSTANTS(rope_push)
{
    uint32_t M;           // tokens
    uint32_t H;           // query heads
    uint32_t KVH;         // key heads
    uint32_t D;           // head dimension
    uint32_t R;           // rotated dimensions, even, <= D
    uint32_t table_rows;  // positions in the table; tokens at or past it are left alone
    uint32_t groups_x;    // see grid.glsl
} PUSH_INSTANCE;

#endif
