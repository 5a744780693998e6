// The whole forward pass on the CPU reference kernels (`vkllm run --cpu`): the specification
// of what the GPU scheduler computes, one token at a time.
#ifndef VKLLM_CPU_FORWARD_H
#define VKLLM_CPU_FORWARD_H

#include "host/model.h"
#include "host/moe_stats.h"

typedef struct vkl_cpu_forward {
    const vkl_model *model;
    uint32_t context;                  // KV-cache positions
    float *x, *xb, *xb2, *q, *k, *v;   // activations of one token
    float *hb, *hb2;                   // (hidden_dim)
    float *k_cache, *v_cache;          // (n_layers, context, n_kv_heads * head_dim); MLA: latent, RoPE key
    float *q_lat, *o_lat;              // MLA: absorbed queries, attention outputs (n_heads, kv_lora_rank)
    float *router, *route_w;           // MoE: router logits (n_experts), chosen weights (k)
    uint32_t *route_ids;               // MoE: chosen experts (k)
    vkl_moe_stats moe_stats;           // MoE: expert load so far
    const float **values;              // per model tensor: its values as f32 (the file's, or owned[i])
    float **owned;                     // per model tensor: dequantized copies of non-f32 tensors
} vkl_cpu_forward;

// Checks that every tensor the pass needs exists with its shape and type; allocates the state.
vkl_status vkl_cpu_forward_init(vkl_cpu_forward *f, const vkl_model *model, uint32_t context);
void vkl_cpu_forward_free(vkl_cpu_forward *f);
// Runs `token` at position `pos` (< context); writes vocab_size logits.
void vkl_cpu_forward_token(vkl_cpu_forward *f, uint32_t token, uint32_t pos, float *logits);

#endif
