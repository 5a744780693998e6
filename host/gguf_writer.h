// Writing GGUF v3 files: metadata, then tensor infos, then the aligned tensor data, streamed so
// that large models never sit in memory whole. Also the weight types files are written in
// (`vkllm quantize --type`, `vkllm mkmodel --type`): one format for every matrix, or one of
// llama.cpp's per-tensor mixes.
#ifndef VKLLM_GGUF_WRITER_H
#define VKLLM_GGUF_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "host/formats.h"
#include "host/gguf.h"
#include "host/model.h"

// ---- Weight types.

typedef enum vkl_quant_mix { VKL_MIX_NONE, VKL_MIX_Q4_K_S, VKL_MIX_Q4_K_M, VKL_MIX_Q5_K_M } vkl_quant_mix;

typedef struct vkl_quant_type {
    const char *name;          // "q4_k_m"
    const char *base;          // the format of most matrices: "q4_k"
    vkl_quant_mix mix;         // VKL_MIX_NONE: every matrix in `base`
    uint32_t file_type;        // general.file_type: llama.cpp's llama_ftype
} vkl_quant_type;

// The type called `name` (case-insensitive), or NULL. VKL_QUANT_TYPE_NAMES lists them.
const vkl_quant_type *vkl_quant_type_from_name(const char *name);
#define VKL_QUANT_TYPE_NAMES \
    "f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, q4_k_s, q4_k_m, q5_k_m"

// What the choice of a tensor's format needs to know about the model.
typedef struct vkl_quant_model {
    uint32_t n_layers;   // <arch>.block_count
    uint32_t n_experts;  // <arch>.expert_count (0 or 1: dense)
    bool tied_output;    // no output.weight: token_embd.weight is also the classifier
} vkl_quant_model;

typedef struct vkl_quant_choice {
    const vkl_format *format;  // what the tensor is written in
    const vkl_format *wanted;  // what the type asked for; differs when rows are not whole blocks
} vkl_quant_choice;

// The format of tensor `name` with `n_dims` dimensions and rows of `row` values (GGUF's ne[0]).
// Vectors, norms, MoE routers, learned position embeddings and tensors not named *weight stay
// f32; the rest take the type's format (f32 keeps everything f32), the mixes choosing per tensor
// as llama.cpp's llama_tensor_get_type does for llama-architecture models (and, by the same
// names, for the others: attn_qkv as attn_v). Rows that are not whole blocks fall
// back as llama.cpp does: q2_k, q3_k -> q4_0; q4_k -> q5_0; q5_k -> q5_1; q6_k -> q8_0; then,
// or for the 32-value formats, f16.
vkl_quant_choice vkl_quant_choose(const vkl_quant_type *type, const vkl_quant_model *model, const char *name,
                                  uint32_t n_dims, uint64_t row);

// ---- A GGUF v3 file, written in order: open; the metadata (kv_*); every tensor's info; every
// tensor's data in the same order (data, as many pieces as wanted, then end_tensor); close.
// Errors are kept and reported once, by close, naming the file.
typedef struct vkl_gguf_writer {
    FILE *f;
    const char *path;
    bool failed;
    char error[256];       // the first misuse, when not an I/O error
    uint32_t alignment;
    uint64_t n_tensors;    // declared at open
    uint64_t kv_count;     // metadata entries written, patched into the header at close
    uint64_t at;           // bytes written
    uint64_t next_offset;  // the data offset of the next tensor info
    uint64_t *sizes;       // stb_ds array: each tensor's declared bytes
    uint64_t data_index;   // the tensor whose data is being written, and how many bytes of it
    uint64_t data_written;
} vkl_gguf_writer;

vkl_status vkl_gguf_writer_open(vkl_gguf_writer *w, const char *path, uint64_t n_tensors, uint32_t alignment);
void vkl_gguf_writer_kv_u32(vkl_gguf_writer *w, const char *key, uint32_t value);
void vkl_gguf_writer_kv_f32(vkl_gguf_writer *w, const char *key, float value);
void vkl_gguf_writer_kv_string(vkl_gguf_writer *w, const char *key, const char *value);
// A metadata entry of a parsed file, as it was (the parser validated it).
void vkl_gguf_writer_kv_copy(vkl_gguf_writer *w, const vkl_gguf_kv *kv);
// `ne` innermost first, as GGUF stores it; `bytes` of data will follow.
void vkl_gguf_writer_tensor_info(vkl_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                                 uint32_t ggml_type, uint64_t bytes);
void vkl_gguf_writer_data(vkl_gguf_writer *w, const void *data, uint64_t bytes);
void vkl_gguf_writer_end_tensor(vkl_gguf_writer *w);
// Patches the header, closes, and reports the first error (and removes nothing).
vkl_status vkl_gguf_writer_close(vkl_gguf_writer *w);
// Closes without checks or messages, after an error the caller reported.
void vkl_gguf_writer_abort(vkl_gguf_writer *w);

// ---- Synthetic models.

// A synthetic llama-architecture model: the shapes, and how to fill it.
typedef struct vkl_synthetic_model {
    vkl_model_config config;  // arch, dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim, vocab_size,
                              // context, rope_base, norm_eps, n_experts, n_experts_used
    bool tied_output;         // no output.weight: the classifier is token_embd
    const vkl_gguf *vocabulary;  // when set, its tokenizer.* keys are the model's vocabulary
                                 // (config.vocab_size must be its token count)
    bool f16;                 // matrices in f16 (norms stay f32); the same as type f16
    const vkl_quant_type *type;  // when set, the matrices' formats (overrides f16)
    uint64_t seed;
    bool mla_kv_b;            // MLA as files converted before llama.cpp's MLA support have it: attn_kv_b
                              // (per head K's nope rows, then V's) and per-head key/value sizes
} vkl_synthetic_model;

// Writes the model to `path` with seeded random weights (scaled by 1/sqrt(fan-in)) and a
// vocabulary of byte pieces and filler words. The values are the same whatever the type: each
// is drawn in f32, then converted. Errors name the file.
vkl_status vkl_write_synthetic_gguf(const char *path, const vkl_synthetic_model *desc);

#endif
