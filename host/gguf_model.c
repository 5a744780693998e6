// GGUF models of the architectures of host/arch.h into the format-independent model
// description, with the tokenizer from tokenizer.ggml.*. Fused tensors (attn_qkv, Phi-3's
// ffn_up) become views of their parts here, so the forward passes read one set of names.
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/arch.h"
#include "host/formats.h"
#include "host/gguf.h"
#include "host/model.h"
#include "host/tokenizer.h"

// "<arch>.<key>" as u32 / f32: false when required and missing, or present and invalid (logged).
static bool arch_u32(const vkl_gguf *g, const vkl_arch *a, const char *key, uint32_t *out, bool required)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", a->name, key);
    return (!required && !vkl_gguf_find(g, full)) || vkl_gguf_get_u32(g, full, out, true);
}

static bool arch_f32(const vkl_gguf *g, const vkl_arch *a, const char *key, float *out)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", a->name, key);
    return !vkl_gguf_find(g, full) || vkl_gguf_get_f32(g, full, out, true);
}

static const vkl_arch *read_arch(const vkl_gguf *g)
{
    const vkl_gguf_kv *kv = vkl_gguf_find(g, "general.architecture");
    const vkl_arch *a = kv && kv->type == GGUF_STRING ? vkl_arch_find(kv->string.text, kv->string.length) : NULL;
    if (!a) {
        char names[256];
        vkl_arch_names(names, sizeof names);
        vkl_log_error("%s: general.architecture is %.*s; vkllm runs %s", g->path,
                      kv && kv->type == GGUF_STRING ? (int)(kv->string.length > 64 ? 64 : kv->string.length) : 7,
                      kv && kv->type == GGUF_STRING ? kv->string.text : "missing", names);
    }
    return a;
}

static bool sizes_in_range(const vkl_gguf *g, const vkl_model_config *c)
{
    if (c->dim == 0 || c->dim > (1u << 16) || c->n_heads == 0 || c->n_heads > 1024 || c->n_kv_heads == 0 ||
        c->n_heads % c->n_kv_heads || c->n_layers == 0 || c->n_layers > 1024 || c->hidden_dim == 0 ||
        c->hidden_dim > (1u << 18) || c->context == 0 || c->context > (1u << 24) || c->head_dim == 0 ||
        c->head_dim % 2 || c->head_dim > 1024 || (!c->arch->head_dim_key && c->dim % c->n_heads)) {
        vkl_log_error("%s: inconsistent hyperparameters: embedding_length %u, head_count %u, head_count_kv %u, "
                      "head size %u, block_count %u, feed_forward_length %u, context_length %u", g->path, c->dim,
                      c->n_heads, c->n_kv_heads, c->head_dim, c->n_layers, c->hidden_dim, c->context);
        return false;
    }
    if (c->rope_dim == 0 || c->rope_dim > c->head_dim || c->rope_dim % 2 ||
        (c->n_experts && (!c->arch->experts || c->n_experts > 256 || c->n_experts_used == 0 ||
                          c->n_experts_used > 8 || c->n_experts_used > c->n_experts))) {
        vkl_log_error("%s: rope.dimension_count %u (head size %u), expert_count %u, expert_used_count %u out of range "
                      "for %s", g->path, c->rope_dim, c->head_dim, c->n_experts, c->n_experts_used, c->arch->name);
        return false;
    }
    return true;
}

// RoPE scaling (Llama 3.1's frequency factors, YaRN, linear, Phi-3's long/short factors) is not
// applied yet: such a file is refused by name rather than run with the wrong positions.
static bool rope_scaling_absent(const vkl_gguf *g, const vkl_arch *a)
{
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a->name);
    const vkl_gguf_kv *kv = vkl_gguf_find(g, key);
    if (kv && !(kv->type == GGUF_STRING && vkl_gguf_string_is(kv->string, "none"))) {
        vkl_log_error("%s: %s is %.*s: vkllm does not apply RoPE scaling yet", g->path, key,
                      kv->type == GGUF_STRING ? (int)(kv->string.length > 32 ? 32 : kv->string.length) : 9,
                      kv->type == GGUF_STRING ? kv->string.text : "not \"none\"");
        return false;
    }
    static const char *const FACTORS[] = { "rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight" };
    for (ptrdiff_t i = 0; i < arrlen(g->tensors); i++)
        for (size_t f = 0; f < sizeof FACTORS / sizeof FACTORS[0]; f++)
            if (vkl_gguf_string_is(g->tensors[i].name, FACTORS[f])) {
                vkl_log_error("%s: tensor %s holds RoPE frequency factors (long-context scaling), which vkllm does "
                              "not apply yet", g->path, FACTORS[f]);
                return false;
            }
    return true;
}

static bool read_config(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_arch *a = read_arch(g);
    if (!a || !rope_scaling_absent(g, a)) return false;
    *c = (vkl_model_config){ .arch = a, .rope_base = 10000.0f, .norm_eps = 1e-5f };
    if (!arch_u32(g, a, "context_length", &c->context, true) || !arch_u32(g, a, "embedding_length", &c->dim, true) ||
        !arch_u32(g, a, "block_count", &c->n_layers, true) ||
        !arch_u32(g, a, "feed_forward_length", &c->hidden_dim, true) ||
        !arch_u32(g, a, "attention.head_count", &c->n_heads, true))
        return false;
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->dim / c->n_heads;
    if (!arch_u32(g, a, "attention.head_count_kv", &c->n_kv_heads, false) ||
        (a->head_dim_key && !arch_u32(g, a, "attention.key_length", &c->head_dim, false)))
        return false;
    c->rope_dim = c->head_dim;
    uint32_t window = 0;  // sliding-window attention (Phi-3: 2047 of 4096), which vkllm does not mask
    if (!arch_u32(g, a, "attention.sliding_window", &window, false)) return false;
    if (window && window < c->context) {
        vkl_log_warning("%s: %s.attention.sliding_window is %u: positions are capped there (of the %u trained), "
                        "where sliding-window and full attention agree", g->path, a->name, window, c->context);
        c->context = window;
    }
    return arch_u32(g, a, "rope.dimension_count", &c->rope_dim, false) &&
           arch_u32(g, a, "expert_count", &c->n_experts, false) &&
           arch_u32(g, a, "expert_used_count", &c->n_experts_used, false) &&
           arch_f32(g, a, "rope.freq_base", &c->rope_base) && arch_f32(g, a, a->eps_key, &c->norm_eps) &&
           sizes_in_range(g, c);
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

// Replaces tensor `name` of layer `l` (a matrix or a bias vector whose rows are `count` parts
// stacked) by views of its parts, named parts[i] with rows[i] rows each. ggml stores a tensor row
// by row, each row whole blocks, so every part is a contiguous run of the file.
static bool split_rows(vkl_model *m, int l, const char *name, bool required, int count, const char *const *parts,
                       const uint64_t *rows)
{
    char full[64];
    const vkl_model_tensor *found = vkl_model_find_layer(m, l, name, full);
    if (!found && required) vkl_log_error("%s: tensor %s is missing (%s)", m->path, full, m->config.arch->name);
    if (!found) return !required;
    vkl_model_tensor fused = *found;
    uint64_t total = 0, vector = fused.n_dims == 1;
    for (int i = 0; i < count; i++) total += rows[i];
    if (fused.dims[0] != total || fused.n_dims > 2) {
        vkl_log_error("%s: tensor %s has %llu rows; the model's shape needs %llu (its parts stacked)", m->path, full,
                      (unsigned long long)fused.dims[0], (unsigned long long)total);
        return false;
    }
    arrdel(m->tensors, found - m->tensors);
    uint64_t row_bytes = fused.bytes / total, row_count = vector ? 1 : fused.dims[1], start = 0;
    for (int i = 0; i < count; i++) {
        vkl_model_tensor part = fused;
        if (l >= 0) snprintf(part.name, sizeof part.name, "blk.%d.%s", l, parts[i]);
        else snprintf(part.name, sizeof part.name, "%s", parts[i]);
        part.dims[0] = rows[i];
        part.count = rows[i] * row_count;
        part.bytes = rows[i] * row_bytes;
        part.data = (const uint8_t *)fused.data + start * row_bytes;
        start += rows[i];
        arrput(m->tensors, part);
    }
    return true;
}

// attn_qkv into attn_q, attn_k, attn_v; Phi-3's ffn_up into ffn_gate and ffn_up.
static bool split_fused(vkl_model *m)
{
    const vkl_model_config *c = &m->config;
    uint64_t q = (uint64_t)c->n_heads * c->head_dim, kv = (uint64_t)c->n_kv_heads * c->head_dim, h = c->hidden_dim;
    static const char *const QKV_W[] = { "attn_q.weight", "attn_k.weight", "attn_v.weight" };
    static const char *const QKV_B[] = { "attn_q.bias", "attn_k.bias", "attn_v.bias" };
    static const char *const GATE_UP_W[] = { "ffn_gate.weight", "ffn_up.weight" };
    static const char *const GATE_UP_B[] = { "ffn_gate.bias", "ffn_up.bias" };
    const uint64_t qkv_rows[] = { q, kv, kv }, gate_up_rows[] = { h, h };
    for (int l = 0; l < (int)c->n_layers; l++) {
        const vkl_arch *a = c->arch;
        if (a->fused_qkv && (!split_rows(m, l, "attn_qkv.weight", true, 3, QKV_W, qkv_rows) ||
                             !split_rows(m, l, "attn_qkv.bias", a->qkv_bias, 3, QKV_B, qkv_rows)))
            return false;
        if (a->fused_gate_up && !c->n_experts &&
            (!split_rows(m, l, "ffn_up.weight", true, 2, GATE_UP_W, gate_up_rows) ||
             !split_rows(m, l, "ffn_up.bias", a->linear_bias, 2, GATE_UP_B, gate_up_rows)))
            return false;
    }
    return true;
}

vkl_status vkl_gguf_model_load(vkl_model *model, vkl_tokenizer *tokenizer)
{
    vkl_gguf g;
    VKL_TRY(vkl_gguf_parse(model->path, model->file_data, model->file_size, &g));
    vkl_status status = VKL_ERR_INVALID_ARG;
    if (read_config(&g, &model->config) && add_tensors(&g, model) && split_fused(model))
        status = tokenizer ? vkl_tokenizer_load_gguf(&g, model->config.vocab_size, tokenizer) : VKL_OK;
    vkl_gguf_free(&g);
    return status;
}
