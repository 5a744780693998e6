#include "host/cpu_forward.h"

#include <math.h>
#include <stb/stb_ds.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/formats.h"
#include "host/ref.h"

// The values of tensor `name` (layer `layer` when >= 0) of `n` elements, as f32: the file's
// own for f32 tensors, else dequantized at init (f16 widened, quantized formats as ggml does).
static const float *weight(const vkl_cpu_forward *f, int layer, const char *name, uint64_t n)
{
    const vkl_model_tensor *t = vkl_model_find_layer(f->model, layer, name, NULL);
    if (!t || t->count != n) return NULL;
    return f->values[t - f->model->tensors];
}

// f->values: every tensor's values as f32 (the CPU path's reference arithmetic).
static vkl_status dequantize_tensors(vkl_cpu_forward *f)
{
    const vkl_model *m = f->model;
    size_t n = (size_t)arrlen(m->tensors);
    f->values = calloc(n ? n : 1, sizeof *f->values);
    f->owned = calloc(n ? n : 1, sizeof *f->owned);
    if (!f->values || !f->owned) return VKL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++) {
        const vkl_model_tensor *t = &m->tensors[i];
        if (t->dtype == VKL_DTYPE_F32) {
            f->values[i] = t->data;
            continue;
        }
        if (t->count > SIZE_MAX / sizeof(float)) return VKL_ERR_OUT_OF_MEMORY;
        f->owned[i] = malloc(t->count * sizeof(float));
        if (!f->owned[i]) return VKL_ERR_OUT_OF_MEMORY;
        vkl_format_dequantize(vkl_format_of(t->dtype), t->data, t->count, f->owned[i]);
        f->values[i] = f->owned[i];
    }
    return VKL_OK;
}

vkl_status vkl_cpu_forward_init(vkl_cpu_forward *f, const vkl_model *model, uint32_t context)
{
    memset(f, 0, sizeof *f);
    const vkl_model_config *c = &model->config;
    if (!vkl_model_check(model)) return VKL_ERR_INVALID_ARG;
    size_t kv = (size_t)c->n_kv_heads * c->head_dim, cache = (size_t)c->n_layers * context * kv;
    f->model = model;
    f->context = context;
    f->x = malloc(c->dim * sizeof(float));
    f->xb = malloc(c->dim * sizeof(float));
    f->xb2 = malloc(c->dim * sizeof(float));
    f->q = malloc(c->dim * sizeof(float));
    f->k = malloc(kv * sizeof(float));
    f->v = malloc(kv * sizeof(float));
    f->hb = malloc(c->hidden_dim * sizeof(float));
    f->hb2 = malloc(c->hidden_dim * sizeof(float));
    f->k_cache = calloc(cache, sizeof(float));
    f->v_cache = calloc(cache, sizeof(float));
    bool moe_ok = true;
    if (c->n_experts) {
        f->router = malloc(c->n_experts * sizeof(float));
        f->route_w = malloc(c->n_experts_used * sizeof(float));
        f->route_ids = malloc(c->n_experts_used * sizeof(uint32_t));
        moe_ok = f->router && f->route_w && f->route_ids && vkl_moe_stats_init(&f->moe_stats, c) == VKL_OK;
    }
    if (!f->x || !f->xb || !f->xb2 || !f->q || !f->k || !f->v || !f->hb || !f->hb2 || !f->k_cache || !f->v_cache ||
        !moe_ok || dequantize_tensors(f) != VKL_OK) {
        vkl_cpu_forward_free(f);
        return VKL_ERR_OUT_OF_MEMORY;
    }
    return VKL_OK;
}

void vkl_cpu_forward_free(vkl_cpu_forward *f)
{
    free(f->x);
    free(f->xb);
    free(f->xb2);
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->hb);
    free(f->hb2);
    free(f->k_cache);
    free(f->v_cache);
    free(f->router);
    free(f->route_w);
    free(f->route_ids);
    vkl_moe_stats_free(&f->moe_stats);
    for (ptrdiff_t i = 0; f->owned && i < arrlen(f->model->tensors); i++) free(f->owned[i]);
    free(f->owned);
    free((void *)f->values);
    memset(f, 0, sizeof *f);
}

static void attention_block(vkl_cpu_forward *f, uint32_t l, uint32_t pos)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    uint32_t d = c->dim, kv = c->n_kv_heads * c->head_dim;
    float *k_cache = f->k_cache + (size_t)l * f->context * kv, *v_cache = f->v_cache + (size_t)l * f->context * kv;
    ref_rms_norm(f->xb, f->x, weight(f, l, "attn_norm.weight", d), 1, d, c->rms_eps);
    ref_matmul(f->q, f->xb, weight(f, l, "attn_q.weight", (uint64_t)d * d), 1, d, d);
    ref_matmul(f->k, f->xb, weight(f, l, "attn_k.weight", (uint64_t)kv * d), 1, kv, d);
    ref_matmul(f->v, f->xb, weight(f, l, "attn_v.weight", (uint64_t)kv * d), 1, kv, d);
    ref_rope(f->q, f->k, 1, c->n_heads, c->n_kv_heads, c->head_dim, c->rope_dim, c->rope_neox, pos, c->rope_base);
    ref_kv_append(k_cache, v_cache, f->k, f->v, 1, kv, pos, false);
    ref_attention(f->xb, f->q, k_cache, v_cache, 1, c->n_heads, c->n_kv_heads, c->head_dim, pos);
    ref_matmul(f->xb2, f->xb, weight(f, l, "attn_output.weight", (uint64_t)d * d), 1, d, d);
    ref_add(f->x, f->x, f->xb2, d);
}

// Router, top-k with renormalised weights (Mixtral), the chosen experts' SwiGLU FFNs.
static void moe_block(vkl_cpu_forward *f, uint32_t l)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    uint64_t d = c->dim, h = c->hidden_dim, e = c->n_experts;
    ref_matmul(f->router, f->xb, weight(f, l, "ffn_gate_inp.weight", e * d), 1, c->n_experts, c->dim);
    ref_moe(f->xb2, f->route_ids, f->route_w, f->xb, f->router, weight(f, l, "ffn_gate_exps.weight", e * h * d),
            weight(f, l, "ffn_up_exps.weight", e * h * d), weight(f, l, "ffn_down_exps.weight", e * d * h), 1, c->dim,
            c->hidden_dim, c->n_experts, c->n_experts_used, true);
    ref_add(f->x, f->x, f->xb2, c->dim);
    // The load statistics: counts of the chosen experts and the softmax of the router.
    uint32_t counts[256] = { 0 };
    float probs[256];
    double max = -INFINITY, sum = 0.0;
    for (uint32_t i = 0; i < c->n_experts_used; i++) counts[f->route_ids[i]]++;
    for (uint32_t i = 0; i < c->n_experts; i++) max = fmax(max, f->router[i]);
    for (uint32_t i = 0; i < c->n_experts; i++) sum += exp(f->router[i] - max);
    for (uint32_t i = 0; i < c->n_experts; i++) probs[i] = (float)(exp(f->router[i] - max) / sum);
    vkl_moe_stats_add(&f->moe_stats, l, counts, probs, 1);
}

static void ffn_block(vkl_cpu_forward *f, uint32_t l)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    uint32_t d = c->dim, h = c->hidden_dim;
    ref_rms_norm(f->xb, f->x, weight(f, l, "ffn_norm.weight", d), 1, d, c->rms_eps);
    if (c->n_experts) return moe_block(f, l);
    ref_matmul(f->hb, f->xb, weight(f, l, "ffn_gate.weight", (uint64_t)h * d), 1, h, d);
    ref_matmul(f->hb2, f->xb, weight(f, l, "ffn_up.weight", (uint64_t)h * d), 1, h, d);
    ref_swiglu(f->hb, f->hb, f->hb2, h);
    ref_matmul(f->xb, f->hb, weight(f, l, "ffn_down.weight", (uint64_t)d * h), 1, d, h);
    ref_add(f->x, f->x, f->xb, d);
}

void vkl_cpu_forward_token(vkl_cpu_forward *f, uint32_t token, uint32_t pos, float *logits)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    ref_embedding(f->x, &token, weight(f, -1, "token_embd.weight", (uint64_t)c->vocab_size * c->dim), 1,
                  c->vocab_size, c->dim);
    for (uint32_t l = 0; l < c->n_layers; l++) {
        attention_block(f, l, pos);
        ffn_block(f, l);
    }
    ref_rms_norm(f->x, f->x, weight(f, -1, "output_norm.weight", c->dim), 1, c->dim, c->rms_eps);
    ref_matmul(logits, f->x, weight(f, -1, "output.weight", (uint64_t)c->vocab_size * c->dim), 1, c->vocab_size, c->dim);
}
