// The GPU layer scheduler: uploads a model's weights once, records one command buffer for the
// embedding, one per transformer layer and one for the head, once, and replays them for every
// token; prompts run as batches through a second set, recorded once per batch length.
// Per-token values (token id, position) live in small host-visible buffers that the
// recorded dispatches read, so nothing is re-recorded and the token loop allocates nothing.
//
// The forward pass is first planned as a list of kernel cases on the scheduler's buffers (the
// same cases `vkllm check` runs); the plan is what gets recorded, and what --validate runs one
// dispatch at a time against the CPU reference.
#ifndef VKLLM_SCHEDULER_H
#define VKLLM_SCHEDULER_H

#include "host/model.h"
#include "host/moe_stats.h"
#include "runtime/context.h"

typedef struct vkl_scheduler vkl_scheduler;

typedef struct vkl_scheduler_memory {
    uint64_t weights, kv_cache, scratch;  // bytes on the device
} vkl_scheduler_memory;

// Dense or MoE llama models with f32/f16 weights; `context` positions of KV cache.
vkl_status vkl_scheduler_create(vkl_device *device, const vkl_model *model, uint32_t context, vkl_scheduler **out);
void vkl_scheduler_destroy(vkl_scheduler *s);
vkl_scheduler_memory vkl_scheduler_memory_use(const vkl_scheduler *s);
// Device bytes the scheduler would take for `context` positions: weights, KV cache, scratch.
vkl_scheduler_memory vkl_scheduler_memory_needed(const vkl_device_info *info, const vkl_model *model, uint32_t context);
// The largest context up to `context` whose weights, KV cache and scratch fit on the device.
uint32_t vkl_scheduler_context_that_fits(const vkl_device *device, const vkl_model *model, uint32_t context);
// Runs `token` at position `pos` and copies the vocab_size logits out.
vkl_status vkl_scheduler_forward(vkl_scheduler *s, uint32_t token, uint32_t pos, float *logits);
// Runs `count` prompt tokens at positions pos.. as batches (GEMM, flash-attention prefill) of up
// to 128 tokens, and copies out the logits of the last one.
vkl_status vkl_scheduler_prefill(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits);
// GPU time of the last decode (or prefill batch) submission: from the start of its first
// command buffer to the end of its last; NaN without timing or timestamps.
double vkl_scheduler_gpu_us(vkl_scheduler *s, bool prefill);
// Brackets every pass with timestamps for vkl_scheduler_gpu_us (off by default: they cost
// lavapipe a queue drain each).
vkl_status vkl_scheduler_set_timing(vkl_scheduler *s, bool on);
// Expert load so far (MoE models), or NULL for dense ones.
const vkl_moe_stats *vkl_scheduler_moe_stats(const vkl_scheduler *s);

// --validate: per dispatch of the plan, the worst error against the CPU reference.
typedef struct vkl_validation_row {
    int layer;            // -1: embedding, n_layers: head
    char step[96];        // e.g. "attn_q matmul/gemv.f32"
    uint32_t runs;
    double worst_ratio;   // error / bound at the worst element; <= 1 passes
    double worst_err;
} vkl_validation_row;

typedef struct vkl_validation {
    vkl_validation_row *rows;  // stb_ds array, in plan order
    uint32_t dispatches, failures;
    char first_failure[512];   // the first dispatch over its bound, or ""
} vkl_validation;

void vkl_validation_free(vkl_validation *v);
// As vkl_scheduler_prefill (count > 1) or vkl_scheduler_forward (count == 1), but runs the plan
// one kernel at a time, each checked against the CPU reference on the device's own inputs.
vkl_status vkl_scheduler_validate(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits,
                                  vkl_validation *v);

// --profile: the GPU time of each dispatch of a decode step, timed on its own.
typedef struct vkl_profile_row {
    int layer;           // -1: embedding, n_layers: head
    char step[96];       // e.g. "attn_qkv attn_qkv/texel.f32"
    double us_median;    // over the runs
} vkl_profile_row;

// Decodes `token` at position `pos` `runs` times through a recording with a timestamp after
// every dispatch; *rows (stb_ds array, the caller frees it) gets each step's median time in
// plan order. The timestamps add a little time of their own, so the sum exceeds a plain step.
vkl_status vkl_scheduler_profile(vkl_scheduler *s, uint32_t token, uint32_t pos, uint32_t runs, vkl_profile_row **rows);

#endif
