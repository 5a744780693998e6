// Writing GGUF v3 files: metadata, then tensor infos, then the aligned tensor data, streamed so
// that large synthetic models never sit in memory whole.
#ifndef VKLLM_GGUF_WRITER_H
#define VKLLM_GGUF_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "host/model.h"

// A synthetic llama-architecture model: the shapes, and how to fill it.
typedef struct vkl_synthetic_model {
    vkl_model_config config;  // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, context,
                              // rope_base, rms_eps, n_experts, n_experts_used
    bool f16;                 // matrices in f16 (norms stay f32)
    uint64_t seed;
} vkl_synthetic_model;

// Writes the model to `path` with seeded random weights (scaled by 1/sqrt(fan-in)) and a
// vocabulary of byte pieces and filler words. Errors name the file.
vkl_status vkl_write_synthetic_gguf(const char *path, const vkl_synthetic_model *desc);

#endif
