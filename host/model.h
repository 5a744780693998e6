// The format-independent model description that the loaders (llama2.c checkpoints, GGUF) fill:
// hyperparameters plus named tensors, named as llama.cpp names them. Nothing after loading
// knows which file a model came from.
#ifndef VKLLM_MODEL_H
#define VKLLM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kernel.h"
#include "runtime/status.h"

struct vkl_arch;

typedef struct vkl_model_config {
    const struct vkl_arch *arch;  // host/arch.h: what this model's blocks are (never NULL once loaded)
    uint32_t dim;            // embedding width
    uint32_t hidden_dim;     // feed-forward width
    uint32_t n_layers;
    uint32_t n_heads;
    uint32_t n_kv_heads;
    uint32_t head_dim;       // dim / n_heads, or the file's (qwen3); q is n_heads * head_dim wide
    uint32_t vocab_size;
    uint32_t context;        // trained context length
    uint32_t rope_dim;       // rotated dimensions per head
    float rope_base;
    float rope_factor;            // context extension (rope.scaling.factor); 0: none
    uint32_t rope_yarn_context;   // YaRN's original context; 0: linear scaling (or none)
    float rope_yarn_log_mul;      // DeepSeek-V2's YaRN attention-scale term (rope.scaling.yarn_log_multiplier)
    float norm_eps;          // of every RMSNorm or LayerNorm
    uint32_t n_experts;      // 0: dense FFN
    uint32_t n_experts_used;
    bool expert_weights_norm;     // the top-k routing weights renormalised to sum to 1 (Mixtral)
    float expert_weights_scale;   // the top-k weights' factor (DeepSeek-V2: 16); 0: 1
    uint32_t expert_hidden_dim;   // each routed expert's width (0: hidden_dim)
    uint32_t n_shared_experts;    // experts every token also goes through, one FFN of that many widths
    uint32_t dense_lead;          // leading layers with a dense FFN (hidden_dim) before the MoE ones
    // Multi-head latent attention (arch->mla; DeepSeek-V2): head_dim is a query/key head's width
    // (its first head_dim - rope_dim values without position, the last rope_dim rotated), and
    // each token caches a latent of kv_lora_rank values and one rope_dim-wide RoPE key.
    uint32_t kv_lora_rank;
    uint32_t q_lora_rank;         // the query's low-rank step (attn_q_a, attn_q_b); 0: attn_q
    uint32_t head_dim_v;          // a value head's width; attn_output reads n_heads * head_dim_v
} vkl_model_config;

typedef struct vkl_model_tensor {
    char name[64];           // e.g. "blk.0.attn_q.weight"
    vkl_dtype dtype;
    uint32_t n_dims;
    uint64_t dims[4];        // row-major, dims[0] the outermost (a matmul weight is (out, in))
    const void *data;        // inside the model's file buffer
    uint64_t bytes;          // in the file
    uint64_t count;          // elements
} vkl_model_tensor;

struct vkl_tokenizer;

typedef struct vkl_model {
    vkl_model_config config;
    void **owned;               // stb_ds array: buffers of tensors made at load (not views of the file)
    struct vkl_tokenizer *tokenizer;  // from the file (GGUF), or NULL (llama2.c: pass -z)
    vkl_model_tensor *tensors;  // stb_ds array
    void *file_data;            // owned
    uint64_t file_size;
    char path[512];
} vkl_model;

// Reads a whole file, refusing sizes above `max_bytes`. Errors name the file.
vkl_status vkl_read_file(const char *path, uint64_t max_bytes, void **data, uint64_t *size);
// Loads a GGUF file (host/gguf_model.c, by its magic) or a llama2.c checkpoint (host/llama2c.c).
vkl_status vkl_model_load(const char *path, vkl_model *model);
void vkl_model_free(vkl_model *model);
// The tensor called `name`, or NULL.
const vkl_model_tensor *vkl_model_find(const vkl_model *model, const char *name);
// The tensor "blk.<layer>.<name>", or `name` itself when layer < 0; NULL when absent. Writes the
// full name to full_name (64 bytes) when not NULL.
const vkl_model_tensor *vkl_model_find_layer(const vkl_model *model, int layer, const char *name, char *full_name);
// Checks every tensor the architecture's forward pass reads (host/arch.h; dense, or MoE when
// config.n_experts): present, with the element count the config implies; norms and biases f32.
// Logs the first problem, naming the file and tensor.
bool vkl_model_check(const vkl_model *model);
// Values a position takes in one layer's K and V caches: KV heads x head size each, or MLA's
// latent (K) and RoPE key (V).
void vkl_model_cache_rows(const vkl_model_config *c, uint32_t *k_row, uint32_t *v_row);
// Bytes of KV cache a token takes: keys and values of every layer's KV heads, or MLA's latent
// and RoPE key (f32).
uint64_t vkl_model_kv_bytes_per_token(const vkl_model_config *c);
// A routed expert's width (expert_hidden_dim, else hidden_dim), and the top-k weights' factor (1
// unless the file sets expert_weights_scale).
uint32_t vkl_model_expert_width(const vkl_model_config *c);
float vkl_model_expert_scale(const vkl_model_config *c);
// The model's RoPE frequencies (host/ref.h).
struct vkl_rope_params vkl_model_rope(const vkl_model_config *c);
// The softmax scale of attention scores: 1 / sqrt(head_dim); DeepSeek-V2 under YaRN multiplies it
// by mscale^2, mscale = 1 + yarn_log_mul ln(factor) (llama.cpp's, and Hugging Face's softmax_scale).
double vkl_model_attention_scale(const vkl_model_config *c);
// Bytes of weights a decode step reads: every tensor but the embedding table (one row of it)
// and, of MoE expert tensors, the share of the experts a token uses.
double vkl_model_decode_weight_bytes(const vkl_model *model);

// Largest mean weight bytes per layer at which a CPU device (llvmpipe) decodes faster with
// each dispatch on one thread than handed to worker threads (vkl_instance_desc
// cpu_inline_dispatch). Measured on the 2-core dev VM, f32, 6 layers, vocabulary 512: dim 128
// (0.8 MB a layer) 601-877 tokens/s on one thread against 339-424 with two; dim 192 (1.8 MB)
// 294-312 against 207-332; see benchmarks/README.md.
#define VKL_INLINE_DISPATCH_LAYER_BYTES (1024.0 * 1024.0)
// Whether the model's layers are that small (decode weight bytes over layers).
bool vkl_model_prefers_inline_dispatch(const vkl_model *model);

// Adds a tensor of `dtype` (f32, f16 or a quantized format) with dims outermost first; false
// (with an error naming the file, the tensor and the type) when its rows are not whole blocks of
// the format or its bytes would leave the file.
bool vkl_model_add_tensor(vkl_model *model, const char *name, vkl_dtype dtype, uint32_t n_dims, const uint64_t *dims,
                          uint64_t offset);

// llama2.c checkpoints: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size —
// negative for an unshared classifier — and seq_len), then f32 weights in llama2.c's order.
// Both parse model->file_data (read by vkl_model_load) and fill config and tensors.
vkl_status vkl_llama2c_load(vkl_model *model);
vkl_status vkl_gguf_model_load(vkl_model *model, struct vkl_tokenizer *tokenizer);

#endif
