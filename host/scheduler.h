// The GPU layer scheduler: uploads a model's weights once, records one command buffer for the
// embedding, one per transformer layer and one for the head, once, and replays them for every
// token; prompts run as batches through a second set, recorded once per batch length.
// Per-token values (token id, position) live in small host-visible buffers that the
// recorded dispatches read, so nothing is re-recorded and the token loop allocates nothing.
#ifndef VKLLM_SCHEDULER_H
#define VKLLM_SCHEDULER_H

#include "host/model.h"
#include "runtime/context.h"

typedef struct vkl_scheduler vkl_scheduler;

typedef struct vkl_scheduler_memory {
    uint64_t weights, kv_cache, scratch;  // bytes on the device
} vkl_scheduler_memory;

// Dense models with f32/f16 weights; `context` positions of KV cache.
vkl_status vkl_scheduler_create(vkl_device *device, const vkl_model *model, uint32_t context, vkl_scheduler **out);
void vkl_scheduler_destroy(vkl_scheduler *s);
vkl_scheduler_memory vkl_scheduler_memory_use(const vkl_scheduler *s);
// Runs `token` at position `pos` and copies the vocab_size logits out.
vkl_status vkl_scheduler_forward(vkl_scheduler *s, uint32_t token, uint32_t pos, float *logits);
// Runs `count` prompt tokens at positions pos.. as batches (GEMM, flash-attention prefill) of up
// to 128 tokens, and copies out the logits of the last one.
vkl_status vkl_scheduler_prefill(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits);

#endif
