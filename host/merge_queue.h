// The priority queue of adjacent pairs that both tokenizers merge by (SentencePiece by piece
// score, byte-level BPE by merge rank): a binary heap of candidate merges, smallest key first,
// the leftmost at a tie. Entries are never removed when a merge outdates them; the caller checks
// each popped entry against its stamps (the two sides as they were when it was pushed). So a
// word of n symbols merges in O(n log n), where rescanning every pair after each merge (as
// llama2.c does) takes O(n^2): a 20 KB prompt took 19 s that way.
#ifndef VKLLM_MERGE_QUEUE_H
#define VKLLM_MERGE_QUEUE_H

#include <stb/stb_ds.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vkl_merge {
    double key;               // smaller merges first
    ptrdiff_t left, right;    // symbol indices
    uint64_t left_stamp, right_stamp;  // what the two symbols were when this was pushed
    int64_t result;           // what the merge makes, where the caller keeps it (SentencePiece: the piece's id)
} vkl_merge;

static inline bool vkl_merge_before(const vkl_merge *a, const vkl_merge *b)
{
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

// Pushes onto the stb_ds array *heap.
static inline void vkl_merge_push(vkl_merge **heap, vkl_merge m)
{
    arrput(*heap, m);
    for (ptrdiff_t i = arrlen(*heap) - 1; i > 0 && vkl_merge_before(&(*heap)[i], &(*heap)[(i - 1) / 2]); i = (i - 1) / 2) {
        vkl_merge up = (*heap)[(i - 1) / 2];
        (*heap)[(i - 1) / 2] = (*heap)[i];
        (*heap)[i] = up;
    }
}

// Pops the first merge of a non-empty heap.
static inline vkl_merge vkl_merge_pop(vkl_merge *heap)
{
    vkl_merge top = heap[0];
    heap[0] = arrpop(heap);
    for (ptrdiff_t i = 0, n = arrlen(heap);;) {
        ptrdiff_t least = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && vkl_merge_before(&heap[l], &heap[least])) least = l;
        if (r < n && vkl_merge_before(&heap[r], &heap[least])) least = r;
        if (least == i) break;
        vkl_merge down = heap[least];
        heap[least] = heap[i];
        heap[i] = down;
        i = least;
    }
    return top;
}

#endif
