// embedding: y[m, :] = table[ids[m], :]. An id >= V is counted in status[0] (atomically) and
// its row of y is zero; the table is never read out of bounds.
// Bindings: 0 ids (M) u32 · 1 table (V, D) f32, or f16 packed two per word · 2 y (M, D) f32 ·
// 3 status (1) u32, zeroed by the host before the dispatch.
#ifndef VKLLM_EMBEDDING_H
#define VKLLM_EMBEDDING_H

#include "push.h"

#define EMBEDDING_WG 256u

PUSH_CONSTANTS(embedding_push)
{
    uint32_t M;         // tokens
    uint32_t V;         // vocabulary
    uint32_t D;         // embedding width
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
