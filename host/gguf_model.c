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

static bool arch_f32(const vkl_gguf *g, const vkl_arch *a, const char *key, float *out, bool required)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", a->name, key);
    return (!required && !vkl_gguf_find(g, full)) || vkl_gguf_get_f32(g, full, out, true);
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

// RoPE scaling: linear (positions divided by rope.scaling.factor), and YaRN for multi-head
// latent attention (DeepSeek-V2, whose attention scale it also sets; host/model.h). Other
// kinds (YaRN elsewhere, whose cos and sin llama.cpp also scales; Llama 3.1's frequency
// factors; Phi-3's long/short factors) are refused by name rather than run with wrong positions.
static bool read_rope_scaling(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_arch *a = c->arch;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a->name);
    const vkl_gguf_kv *kv = vkl_gguf_find(g, key);
    bool linear = kv && kv->type == GGUF_STRING && vkl_gguf_string_is(kv->string, "linear");
    bool yarn = kv && kv->type == GGUF_STRING && vkl_gguf_string_is(kv->string, "yarn") && a->mla;
    if (kv && !(kv->type == GGUF_STRING && vkl_gguf_string_is(kv->string, "none")) && !linear && !yarn) {
        vkl_log_error("%s: %s is %.*s: vkllm applies linear RoPE scaling, and YaRN for deepseek2, so far", g->path, key,
                      kv->type == GGUF_STRING ? (int)(kv->string.length > 32 ? 32 : kv->string.length) : 9,
                      kv->type == GGUF_STRING ? kv->string.text : "not \"none\"");
        return false;
    }
    if ((linear || yarn) &&
        (!arch_f32(g, a, "rope.scaling.factor", &c->rope_factor, true) || !(c->rope_factor >= 1.0f && c->rope_factor <= 1024.0f) ||
         (yarn && (!arch_u32(g, a, "rope.scaling.original_context_length", &c->rope_yarn_context, true) ||
                   !c->rope_yarn_context || !arch_f32(g, a, "rope.scaling.yarn_log_multiplier", &c->rope_yarn_log_mul, false))))) {
        vkl_log_error("%s: %s.rope.scaling.factor %g (1 to 1024) or the YaRN original context %u is missing or out of "
                      "range", g->path, a->name, c->rope_factor, c->rope_yarn_context);
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

// Routing options (DeepSeek-V2's): the expert width, shared experts, leading dense layers,
// renormalised and scaled top-k weights; sigmoid gating (DeepSeek-V3), which vkllm does not
// apply yet, is refused by name.
static bool read_expert_config(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_arch *a = c->arch;
    uint32_t norm = a->expert_weights_norm, gating = 1;
    if (!arch_u32(g, a, "expert_feed_forward_length", &c->expert_hidden_dim, false) ||
        !arch_u32(g, a, "expert_shared_count", &c->n_shared_experts, false) ||
        !arch_u32(g, a, "leading_dense_block_count", &c->dense_lead, false) ||
        !arch_u32(g, a, "expert_weights_norm", &norm, false) || !arch_u32(g, a, "expert_gating_func", &gating, false) ||
        !arch_f32(g, a, "expert_weights_scale", &c->expert_weights_scale, false))
        return false;
    c->expert_weights_norm = norm != 0;
    if (gating != 1) {
        vkl_log_error("%s: %s.expert_gating_func is %u: vkllm applies softmax gating (1) only, so far", g->path,
                      a->name, gating);
        return false;
    }
    if (!(c->expert_weights_scale >= 0.0f && c->expert_weights_scale <= 1e4f)) {
        vkl_log_error("%s: %s.expert_weights_scale %g is out of range", g->path, a->name, c->expert_weights_scale);
        return false;
    }
    return true;
}

// Multi-head latent attention's sizes (model.h). Files converted since llama.cpp's MLA support
// give the query/key and value head sizes as key_length_mla / value_length_mla (key_length
// being the latent plus the RoPE key there); older ones as key_length / value_length.
static bool read_mla_config(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_arch *a = c->arch;
    if (!a->mla) return true;
    c->head_dim_v = c->head_dim;
    if (!arch_u32(g, a, "attention.kv_lora_rank", &c->kv_lora_rank, true) ||
        !arch_u32(g, a, "attention.q_lora_rank", &c->q_lora_rank, false) ||
        !arch_u32(g, a, "attention.value_length", &c->head_dim_v, false) ||
        !arch_u32(g, a, "attention.key_length_mla", &c->head_dim, false) ||
        !arch_u32(g, a, "attention.value_length_mla", &c->head_dim_v, false))
        return false;
    c->n_kv_heads = 1;  // one latent and one RoPE key a token, shared by every head
    return true;
}

// The expert and MLA sizes (sizes_in_range checks the rest): what attention_mla and head_matmul take.
static bool mla_sizes_in_range(const vkl_gguf *g, const vkl_model_config *c)
{
    bool experts_ok = c->dense_lead <= c->n_layers && c->n_shared_experts <= 64 && c->expert_hidden_dim <= (1u << 18);
    bool mla_ok = c->rope_dim < c->head_dim && c->rope_dim % 4 == 0 && c->rope_dim <= 128 &&
                  (c->head_dim - c->rope_dim) % 4 == 0 && c->kv_lora_rank && c->kv_lora_rank % 4 == 0 &&
                  c->kv_lora_rank <= 1024 && c->head_dim_v && c->head_dim_v <= 1024 && c->q_lora_rank <= (1u << 16);
    if (experts_ok && (mla_ok || !c->arch->mla)) return true;
    vkl_log_error("%s: inconsistent sizes for %s: kv_lora_rank %u (multiple of 4, up to 1024), q_lora_rank %u, head "
                  "size %u with %u rotated (multiples of 4, up to 128), value head size %u, leading dense layers %u of "
                  "%u, shared experts %u, expert width %u", g->path, c->arch->name, c->kv_lora_rank, c->q_lora_rank,
                  c->head_dim, c->rope_dim, c->head_dim_v, c->dense_lead, c->n_layers, c->n_shared_experts,
                  c->expert_hidden_dim);
    return false;
}

static bool read_config(const vkl_gguf *g, vkl_model_config *c)
{
    const vkl_arch *a = read_arch(g);
    if (!a) return false;
    *c = (vkl_model_config){ .arch = a, .rope_base = 10000.0f, .norm_eps = 1e-5f,
                             .expert_weights_norm = a->expert_weights_norm };
    if (!read_rope_scaling(g, c)) return false;
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
           arch_f32(g, a, "rope.freq_base", &c->rope_base, false) && arch_f32(g, a, a->eps_key, &c->norm_eps, false) &&
           read_expert_config(g, c) && read_mla_config(g, c) && sizes_in_range(g, c) && mla_sizes_in_range(g, c);
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

// A tensor of f32 values the model owns from now on (`values`, malloc'd), replacing any of that name.
static void add_owned_f32(vkl_model *m, const char *name, uint32_t n_dims, const uint64_t *dims, float *values)
{
    vkl_model_tensor t = { .dtype = VKL_DTYPE_F32, .n_dims = n_dims, .data = values, .count = 1 };
    snprintf(t.name, sizeof t.name, "%s", name);
    for (uint32_t d = 0; d < n_dims; d++) t.count *= t.dims[d] = dims[d];
    t.bytes = t.count * 4;
    const vkl_model_tensor *old = vkl_model_find(m, name);
    if (old) arrdel(m->tensors, old - m->tensors);
    arrput(m->tensors, t);
    arrput(m->owned, values);
}

// The values of tensor t as f32 (malloc'd), or NULL when out of memory (logged).
static float *dequantized(const vkl_model *m, const vkl_model_tensor *t)
{
    float *values = t->count <= SIZE_MAX / 4 ? malloc(t->count * 4) : NULL;
    if (!values) vkl_log_error("%s: no memory for the %llu values of %s", m->path, (unsigned long long)t->count, t->name);
    else vkl_format_dequantize(vkl_format_of(t->dtype), t->data, t->count, values);
    return values;
}

// The query's rows (head by head, [nope | rope] each) reordered in place into all heads' nope
// rows, then all rope rows, which then split into attn_q_nope and attn_q_rope. Rows are whole
// blocks, so this works in every format; the file buffer is the model's own copy.
static bool split_mla_query(vkl_model *m, int l)
{
    const vkl_model_config *c = &m->config;
    const char *name = c->q_lora_rank ? "attn_q_b.weight" : "attn_q.weight";
    char full[64];
    const vkl_model_tensor *t = vkl_model_find_layer(m, l, name, full);
    uint64_t H = c->n_heads, r = c->rope_dim, nope = c->head_dim - r;
    if (!t || t->n_dims != 2 || t->dims[0] != H * c->head_dim) {
        vkl_log_error("%s: tensor %s is missing or does not have %llu rows", m->path, full,
                      (unsigned long long)(H * c->head_dim));
        return false;
    }
    uint64_t row = t->bytes / t->dims[0];
    uint8_t *data = (uint8_t *)t->data, *copy = malloc(t->bytes);
    if (!copy) return false;
    memcpy(copy, data, t->bytes);
    for (uint64_t h = 0; h < H; h++) {
        memcpy(data + h * nope * row, copy + h * c->head_dim * row, nope * row);
        memcpy(data + (H * nope + h * r) * row, copy + (h * c->head_dim + nope) * row, r * row);
    }
    free(copy);
    static const char *const PARTS[] = { "attn_q_nope.weight", "attn_q_rope.weight" };
    const uint64_t rows[] = { H * nope, H * r };
    return split_rows(m, l, name, true, 2, PARTS, rows);
}

// attn_k_b and attn_v_b as head_matmul reads them: f32 or f16, else dequantized to f32; from
// attn_kv_b (files converted before llama.cpp's MLA support: per head nope rows of K, then v
// rows of V, over the latent) where they are absent: V's rows as they are, K's transposed.
static bool prepare_mla_up_projections(vkl_model *m, int l)
{
    const vkl_model_config *c = &m->config;
    uint64_t H = c->n_heads, lat = c->kv_lora_rank, nope = c->head_dim - c->rope_dim, v = c->head_dim_v;
    char k_name[64], v_name[64], kv_name[64];
    const vkl_model_tensor *kb = vkl_model_find_layer(m, l, "attn_k_b.weight", k_name);
    const vkl_model_tensor *vb = vkl_model_find_layer(m, l, "attn_v_b.weight", v_name);
    const vkl_model_tensor *kvb = vkl_model_find_layer(m, l, "attn_kv_b.weight", kv_name);
    if (kb && vb) {
        static const char *const NAMES[] = { "attn_k_b.weight", "attn_v_b.weight" };
        for (int i = 0; i < 2; i++) {
            const vkl_model_tensor *t = vkl_model_find_layer(m, l, NAMES[i], NULL);  // found again: the array moves
            if (t->dtype == VKL_DTYPE_F32 || t->dtype == VKL_DTYPE_F16) continue;
            float *values = dequantized(m, t);
            if (!values) return false;
            char name[64];
            uint64_t dims[4];
            uint32_t n_dims = t->n_dims;
            memcpy(name, t->name, sizeof name);
            memcpy(dims, t->dims, sizeof dims);
            add_owned_f32(m, name, n_dims, dims, values);
        }
        return true;
    }
    if (!kvb || kvb->count != H * (nope + v) * lat) {
        vkl_log_error("%s: %s and %s, or %s of %llu x %llu, are missing", m->path, k_name, v_name, kv_name,
                      (unsigned long long)(H * (nope + v)), (unsigned long long)lat);
        return false;
    }
    float *all = dequantized(m, kvb), *k = malloc(H * lat * nope * 4), *vv = malloc(H * v * lat * 4);
    if (!all || !k || !vv) {
        free(all), free(k), free(vv);
        return false;
    }
    for (uint64_t h = 0; h < H; h++) {
        const float *head = all + h * (nope + v) * lat;
        for (uint64_t i = 0; i < lat; i++)
            for (uint64_t n = 0; n < nope; n++) k[(h * lat + i) * nope + n] = head[n * lat + i];
        memcpy(vv + h * v * lat, head + nope * lat, v * lat * 4);
    }
    free(all);
    arrdel(m->tensors, kvb - m->tensors);
    add_owned_f32(m, k_name, 3, (const uint64_t[]){ H, lat, nope }, k);
    add_owned_f32(m, v_name, 3, (const uint64_t[]){ H, v, lat }, vv);
    return true;
}

// Multi-head latent attention's tensors as the forward passes read them (host/arch.c).
static bool prepare_mla(vkl_model *m)
{
    const vkl_model_config *c = &m->config;
    static const char *const KV_A[] = { "attn_kv_a.weight", "attn_k_rope.weight" };
    const uint64_t kv_a_rows[] = { c->kv_lora_rank, c->rope_dim };
    for (int l = 0; c->arch->mla && l < (int)c->n_layers; l++)
        if (!split_mla_query(m, l) || !split_rows(m, l, "attn_kv_a_mqa.weight", true, 2, KV_A, kv_a_rows) ||
            !prepare_mla_up_projections(m, l))
            return false;
    return true;
}

vkl_status vkl_gguf_model_load(vkl_model *model, vkl_tokenizer *tokenizer)
{
    vkl_gguf g;
    VKL_TRY(vkl_gguf_parse(model->path, model->file_data, model->file_size, &g));
    vkl_status status = VKL_ERR_INVALID_ARG;
    if (read_config(&g, &model->config) && add_tensors(&g, model) && split_fused(model) && prepare_mla(model))
        status = tokenizer ? vkl_tokenizer_load_gguf(&g, model->config.vocab_size, tokenizer) : VKL_OK;
    vkl_gguf_free(&g);
    return status;
}
