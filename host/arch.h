// Model architectures: one description each (host/archs/<name>.c, one line in
// host/archs/registry.h) of what differs from the shared decoder: the GGUF keys' prefix and norm
// epsilon, the norm kind, the position encoding, biases, fused tensors, QK-norm, the FFN kind,
// experts. The GGUF loader, the shape checks, the CPU reference forward, the GPU plan and
// `mkmodel` all read it; the per-layer plan is the same blocks switched by these fields:
//   x = embed(token) [+ position_embd(pos)]
//   per layer: h = norm(x); q, k, v = h Wq [+ bq], h Wk [+ bk], h Wv [+ bv];
//              [q, k = rms_norm per head (QK-norm)]; [rope q, k]; x += attention(q, K, V) Wo [+ bo]
//              h = norm(x); x += ffn(h) [+ biases] (SwiGLU: down(silu(gate h) * up h); GELU: down(gelu(up h)))
//              or, with experts, the routed SwiGLU experts
//   logits = norm(x) W_out (W_out = token_embd when the file has no output.weight)
#ifndef VKLLM_ARCH_H
#define VKLLM_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vkl_norm_kind { VKL_NORM_RMS, VKL_NORM_LAYER } vkl_norm_kind;
typedef enum vkl_ffn_kind { VKL_FFN_SWIGLU, VKL_FFN_GELU } vkl_ffn_kind;

typedef struct vkl_arch {
    const char *name;          // general.architecture, and the prefix of its keys ("<name>.block_count")
    const char *eps_key;       // the norm epsilon's key after the prefix
    vkl_norm_kind norm;        // RMSNorm (weight), or LayerNorm (weight and bias)
    bool learned_positions;    // position_embd.weight rows added to the embedding; no RoPE
    bool rope_neox;            // RoPE on the two halves of a head (NeoX, GGML_ROPE_TYPE_NEOX), not adjacent pairs
    bool fused_qkv;            // the file has attn_qkv (rows q, k, v), split into attn_q, attn_k, attn_v at load
    bool qkv_bias;             // attn_q/k/v.bias (in attn_qkv.bias when fused)
    bool qk_norm;              // attn_q_norm, attn_k_norm (head_dim): RMSNorm of each head before RoPE
    bool linear_bias;          // attn_output.bias, ffn_up.bias, ffn_down.bias
    vkl_ffn_kind ffn;
    bool fused_gate_up;        // the file's ffn_up holds rows gate then up, split at load
    bool experts;              // <name>.expert_count routed SwiGLU experts may replace the dense FFN
    bool expert_weights_norm;  // the top-k weights are renormalised unless <name>.expert_weights_norm says
    bool mla;                  // multi-head latent attention (model.h; host/archs/deepseek2.c)
    bool head_dim_key;         // <name>.attention.key_length sets the head size (else dim / heads)
    bool sliding_window_key;   // files carry <name>.attention.sliding_window (llama.cpp requires it of Phi-3)
} vkl_arch;

#define VKL_ARCH(id) extern const vkl_arch vkl_arch_##id;
#include "host/archs/registry.h"
#undef VKL_ARCH

// The architecture called `name` (`length` bytes), or NULL.
const vkl_arch *vkl_arch_find(const char *name, size_t length);
// Their names, comma-separated, for error messages.
void vkl_arch_names(char *out, size_t size);

// What a tensor is for: how mkmodel fills it and which checks apply.
typedef enum vkl_tensor_role { VKL_ROLE_MATRIX, VKL_ROLE_NORM, VKL_ROLE_BIAS, VKL_ROLE_EMBEDDING } vkl_tensor_role;

typedef struct vkl_arch_tensor {
    char name[64];             // "blk.3.attn_q.weight"
    uint32_t n_dims;
    uint64_t dims[3];          // outermost first: a matrix is (out, in)
    vkl_tensor_role role;
    bool optional;             // output.weight: token_embd.weight when absent
} vkl_arch_tensor;

struct vkl_model_config;
// Whether layer `layer` has routed experts (MoE models past their dense_lead dense layers).
bool vkl_layer_has_experts(const struct vkl_model_config *c, int layer);
// The tensors of `layer` (-1: those outside the layers), appended to the stb_ds array *out: as
// the file has them (`fused`: attn_qkv, a fused ffn_up) or as the forward pass reads them.
void vkl_arch_tensors(const struct vkl_model_config *c, int layer, bool fused, vkl_arch_tensor **out);

#endif
