// GGUF models of architecture "llama" (dense, and Mixtral-style MoE through llama.expert_count)
// into the format-independent model description, with the tokenizer from tokenizer.ggml.*.
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/formats.h"
#include "host/gguf.h"
#include "host/model.h"
#include "host/tokenizer.h"

static bool read_config(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_gguf_kv *arch = vkl_gguf_find(g, "general.architecture");
    if (!arch || arch->type != GGUF_STRING || !vkl_gguf_string_is(arch->string, "llama")) {
        vkl_log_error("%s: general.architecture is %.*s; only llama is supported", g->path,
                      arch && arch->type == GGUF_STRING ? (int)arch->string.length : 7,
                      arch && arch->type == GGUF_STRING ? arch->string.text : "missing");
        return false;
    }
    *c = (vkl_model_config){ .rope_base = 10000.0f, .rms_eps = 1e-5f };
    if (!vkl_gguf_get_u32(g, "llama.context_length", &c->context, true) ||
        !vkl_gguf_get_u32(g, "llama.embedding_length", &c->dim, true) ||
        !vkl_gguf_get_u32(g, "llama.block_count", &c->n_layers, true) ||
        !vkl_gguf_get_u32(g, "llama.feed_forward_length", &c->hidden_dim, true) ||
        !vkl_gguf_get_u32(g, "llama.attention.head_count", &c->n_heads, true))
        return false;
    c->n_kv_heads = c->n_heads;
    vkl_gguf_get_u32(g, "llama.attention.head_count_kv", &c->n_kv_heads, false);
    vkl_gguf_get_f32(g, "llama.rope.freq_base", &c->rope_base, false);
    vkl_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &c->rms_eps, false);
    vkl_gguf_get_u32(g, "llama.expert_count", &c->n_experts, false);
    vkl_gguf_get_u32(g, "llama.expert_used_count", &c->n_experts_used, false);
    if (c->dim == 0 || c->dim > (1u << 16) || c->n_heads == 0 || c->n_heads > 1024 || c->dim % c->n_heads ||
        c->n_kv_heads == 0 || c->n_heads % c->n_kv_heads || c->n_layers == 0 || c->n_layers > 1024 ||
        c->hidden_dim == 0 || c->hidden_dim > (1u << 18) || c->context == 0 || (c->dim / c->n_heads) % 2) {
        vkl_log_error("%s: inconsistent hyperparameters: embedding_length %u, head_count %u, head_count_kv %u, "
                      "block_count %u, feed_forward_length %u, context_length %u", g->path, c->dim, c->n_heads,
                      c->n_kv_heads, c->n_layers, c->hidden_dim, c->context);
        return false;
    }
    c->head_dim = c->dim / c->n_heads;
    c->rope_dim = c->head_dim;
    vkl_gguf_get_u32(g, "llama.rope.dimension_count", &c->rope_dim, false);
    if (c->rope_dim == 0 || c->rope_dim > c->head_dim || c->rope_dim % 2 ||
        (c->n_experts && (c->n_experts > 256 || c->n_experts_used == 0 || c->n_experts_used > 8 ||
                          c->n_experts_used > c->n_experts))) {
        vkl_log_error("%s: rope.dimension_count %u (head size %u), expert_count %u, expert_used_count %u out of range",
                      g->path, c->rope_dim, c->head_dim, c->n_experts, c->n_experts_used);
        return false;
    }
    return true;
}

static bool add_tensors(const vkl_gguf *g, vkl_model *model)
{
    for (ptrdiff_t i = 0; i < arrlen(g->tensors); i++) {
        const vkl_gguf_tensor *t = &g->tensors[i];
        char name[64];
        if (t->name.length >= sizeof name) {
            vkl_log_error("%s: tensor name of %llu bytes is too long", g->path, (unsigned long long)t->name.length);
            return false;
        }
        snprintf(name, sizeof name, "%.*s", (int)t->name.length, t->name.text);
        const vkl_format *format = vkl_format_from_ggml(t->type);
        if (!format) {
            vkl_log_error("%s: tensor %s has ggml type %u, which vkllm does not read (it reads f32, f16, q8_0, q4_0, "
                          "q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k)", g->path, name, t->type);
            return false;
        }
        uint64_t dims[4];
        for (uint32_t d = 0; d < t->n_dims; d++) dims[d] = t->ne[t->n_dims - 1 - d];  // outermost first
        if (t->offset % g->alignment || t->offset > UINT64_MAX - g->data_offset) {
            vkl_log_error("%s: tensor %s offset %llu is not aligned to %u", g->path, name,
                          (unsigned long long)t->offset, g->alignment);
            return false;
        }
        if (!vkl_model_add_tensor(model, name, format->dtype, t->n_dims, dims,
                                  g->data_offset + t->offset))
            return false;
    }
    const vkl_model_tensor *embd = vkl_model_find(model, "token_embd.weight");
    if (!embd || embd->n_dims != 2 || embd->dims[1] != model->config.dim || embd->dims[0] > (1u << 22)) {
        vkl_log_error("%s: tensor token_embd.weight is missing or not (vocab, %u)", g->path, model->config.dim);
        return false;
    }
    model->config.vocab_size = (uint32_t)embd->dims[0];
    if (!vkl_model_find(model, "output.weight")) {  // tied classifier
        vkl_model_tensor tied = *embd;
        snprintf(tied.name, sizeof tied.name, "output.weight");
        arrput(model->tensors, tied);
    }
    return true;
}

vkl_status vkl_gguf_model_load(vkl_model *model, vkl_tokenizer *tokenizer)
{
    vkl_gguf g;
    VKL_TRY(vkl_gguf_parse(model->path, model->file_data, model->file_size, &g));
    vkl_status status = VKL_ERR_INVALID_ARG;
    if (read_config(&g, &model->config) && add_tensors(&g, model))
        status = tokenizer ? vkl_tokenizer_load_gguf(&g, model->config.vocab_size, tokenizer) : VKL_OK;
    vkl_gguf_free(&g);
    return status;
}
