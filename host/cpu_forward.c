#include "host/cpu_forward.h"

#include <math.h>
#include <stb/stb_ds.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/arch.h"
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
    uint32_t kv, v_row;  // MLA: k and the K cache hold the latent, v and the V cache the RoPE key
    vkl_model_cache_rows(c, &kv, &v_row);
    size_t q = (size_t)c->n_heads * c->head_dim;
    if (c->arch->mla) {
        f->q_lat = malloc((size_t)c->n_heads * c->kv_lora_rank * sizeof(float));
        f->o_lat = malloc((size_t)c->n_heads * c->kv_lora_rank * sizeof(float));
        if (!f->q_lat || !f->o_lat) return vkl_cpu_forward_free(f), VKL_ERR_OUT_OF_MEMORY;
    }
    size_t cache = (size_t)c->n_layers * context * kv, v_cache = (size_t)c->n_layers * context * v_row;
    size_t wide = q > c->dim ? q : c->dim;  // xb holds the attention output too
    if (c->q_lora_rank > wide) wide = c->q_lora_rank;
    f->model = model;
    f->context = context;
    f->x = malloc(c->dim * sizeof(float));
    f->xb = malloc(wide * sizeof(float));
    f->xb2 = malloc(wide * sizeof(float));  // also the query's low-rank step (MLA)
    f->q = malloc(q * sizeof(float));
    f->k = malloc(kv * sizeof(float));
    f->v = malloc(v_row * sizeof(float));
    size_t hidden = c->hidden_dim;
    if ((size_t)c->n_shared_experts * c->expert_hidden_dim > hidden) hidden = (size_t)c->n_shared_experts * c->expert_hidden_dim;
    f->hb = malloc(hidden * sizeof(float));
    f->hb2 = malloc(hidden * sizeof(float));
    f->k_cache = calloc(cache, sizeof(float));
    f->v_cache = calloc(v_cache, sizeof(float));
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
    free(f->q_lat);
    free(f->o_lat);
    free(f->router);
    free(f->route_w);
    free(f->route_ids);
    vkl_moe_stats_free(&f->moe_stats);
    for (ptrdiff_t i = 0; f->owned && i < arrlen(f->model->tensors); i++) free(f->owned[i]);
    free(f->owned);
    free((void *)f->values);
    memset(f, 0, sizeof *f);
}

// The architecture's norm of x (n values) into y: RMSNorm, or LayerNorm with its bias.
static void norm(vkl_cpu_forward *f, float *y, const float *x, int layer, const char *name, uint32_t n)
{
    char w[48], b[48];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    const vkl_model_config *c = &f->model->config;
    if (c->arch->norm == VKL_NORM_LAYER) ref_layer_norm(y, x, weight(f, layer, w, n), weight(f, layer, b, n), 1, n, c->norm_eps);
    else ref_rms_norm(y, x, weight(f, layer, w, n), 1, n, c->norm_eps);
}

// y (N) = x (K) W (N, K)T, plus the bias when the file has one (the shape checks require those
// the architecture has).
static void linear(vkl_cpu_forward *f, float *y, const float *x, int layer, const char *name, uint32_t N, uint32_t K)
{
    char w[48], b[48];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    ref_matmul(y, x, weight(f, layer, w, (uint64_t)N * K), 1, N, K);
    const float *bias = weight(f, layer, b, N);
    if (bias) ref_add(y, y, bias, N);
}

static void attention_block(vkl_cpu_forward *f, uint32_t l, uint32_t pos)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    uint32_t d = c->dim, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    float *k_cache = f->k_cache + (size_t)l * f->context * kv, *v_cache = f->v_cache + (size_t)l * f->context * kv;
    norm(f, f->xb, f->x, (int)l, "attn_norm", d);
    linear(f, f->q, f->xb, (int)l, "attn_q", q, d);
    linear(f, f->k, f->xb, (int)l, "attn_k", kv, d);
    linear(f, f->v, f->xb, (int)l, "attn_v", kv, d);
    if (c->arch->qk_norm) {  // each head on its own
        ref_rms_norm(f->q, f->q, weight(f, (int)l, "attn_q_norm.weight", c->head_dim), c->n_heads, c->head_dim, c->norm_eps);
        ref_rms_norm(f->k, f->k, weight(f, (int)l, "attn_k_norm.weight", c->head_dim), c->n_kv_heads, c->head_dim,
                     c->norm_eps);
    }
    if (!c->arch->learned_positions) {
        vkl_rope_params rope = vkl_model_rope(c);
        ref_rope(f->q, f->k, 1, c->n_heads, c->n_kv_heads, c->head_dim, c->rope_dim, c->arch->rope_neox, pos, &rope);
    }
    ref_kv_append(k_cache, v_cache, f->k, f->v, 1, kv, kv, pos, false);
    ref_attention(f->xb, f->q, k_cache, v_cache, 1, c->n_heads, c->n_kv_heads, c->head_dim, pos);
    linear(f, f->xb2, f->xb, (int)l, "attn_output", d, q);
    ref_add(f->x, f->x, f->xb2, d);
}

// Multi-head latent attention (host/archs/deepseek2.c): the query's nope part absorbs the key
// up-projection, attention runs over the cached latents and RoPE keys, the value up-projection
// turns each head's latent output into its value.
static void mla_attention_block(vkl_cpu_forward *f, uint32_t l, uint32_t pos)
{
    const vkl_model_config *c = &f->model->config;
    uint32_t d = c->dim, H = c->n_heads, r = c->rope_dim, nope = c->head_dim - r, lat = c->kv_lora_rank;
    uint32_t in = c->q_lora_rank ? c->q_lora_rank : d;
    float *latent_cache = f->k_cache + (size_t)l * f->context * lat, *rope_cache = f->v_cache + (size_t)l * f->context * r;
    float *q_nope = f->q, *q_rope = f->q + (size_t)H * nope, *latent = f->k, *k_rope = f->v, *q_in = f->xb;
    norm(f, f->xb, f->x, (int)l, "attn_norm", d);
    if (c->q_lora_rank) {  // the query's low-rank step
        linear(f, f->xb2, f->xb, (int)l, "attn_q_a", c->q_lora_rank, d);
        ref_rms_norm(f->xb2, f->xb2, weight(f, (int)l, "attn_q_a_norm.weight", c->q_lora_rank), 1, c->q_lora_rank,
                     c->norm_eps);
        q_in = f->xb2;
    }
    linear(f, q_nope, q_in, (int)l, "attn_q_nope", H * nope, in);
    linear(f, q_rope, q_in, (int)l, "attn_q_rope", H * r, in);
    linear(f, latent, f->xb, (int)l, "attn_kv_a", lat, d);
    linear(f, k_rope, f->xb, (int)l, "attn_k_rope", r, d);
    ref_rms_norm(latent, latent, weight(f, (int)l, "attn_kv_a_norm.weight", lat), 1, lat, c->norm_eps);
    vkl_rope_params rope = vkl_model_rope(c);
    ref_rope(q_rope, k_rope, 1, H, 1, r, r, c->arch->rope_neox, pos, &rope);
    ref_kv_append(latent_cache, rope_cache, latent, k_rope, 1, lat, r, pos, false);
    ref_head_matmul(f->q_lat, q_nope, weight(f, (int)l, "attn_k_b.weight", (uint64_t)H * lat * nope), 1, H, lat, nope);
    ref_attention_mla(f->o_lat, f->q_lat, q_rope, latent_cache, rope_cache, 1, H, lat, r, pos,
                      vkl_model_attention_scale(c));
    ref_head_matmul(f->xb, f->o_lat, weight(f, (int)l, "attn_v_b.weight", (uint64_t)H * c->head_dim_v * lat), 1, H,
                    c->head_dim_v, lat);
    linear(f, f->xb2, f->xb, (int)l, "attn_output", d, H * c->head_dim_v);
    ref_add(f->x, f->x, f->xb2, d);
}

// x += down(silu(gate xb) * up xb) (with the file's biases), `width` wide: a dense SwiGLU FFN
// or DeepSeek's shared experts.
static void swiglu_ffn(vkl_cpu_forward *f, uint32_t l, const char *gate, const char *up, const char *down,
                       uint32_t width)
{
    uint32_t d = f->model->config.dim;
    linear(f, f->hb, f->xb, (int)l, gate, width, d);
    linear(f, f->hb2, f->xb, (int)l, up, width, d);
    ref_swiglu(f->hb, f->hb, f->hb2, width);
    linear(f, f->xb2, f->hb, (int)l, down, d, width);
    ref_add(f->x, f->x, f->xb2, d);
}

// Router, top-k with renormalised weights (Mixtral), the chosen experts' SwiGLU FFNs.
static void moe_block(vkl_cpu_forward *f, uint32_t l)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    uint64_t d = c->dim, h = vkl_model_expert_width(c), e = c->n_experts;
    ref_matmul(f->router, f->xb, weight(f, l, "ffn_gate_inp.weight", e * d), 1, c->n_experts, c->dim);
    ref_moe(f->xb2, f->route_ids, f->route_w, f->xb, f->router, weight(f, l, "ffn_gate_exps.weight", e * h * d),
            weight(f, l, "ffn_up_exps.weight", e * h * d), weight(f, l, "ffn_down_exps.weight", e * d * h), 1, c->dim,
            (uint32_t)h, c->n_experts, c->n_experts_used, c->expert_weights_norm, vkl_model_expert_scale(c));
    ref_add(f->x, f->x, f->xb2, c->dim);
    if (c->n_shared_experts)
        swiglu_ffn(f, l, "ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp", c->n_shared_experts * (uint32_t)h);
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
    norm(f, f->xb, f->x, (int)l, "ffn_norm", d);
    if (vkl_layer_has_experts(c, (int)l)) return moe_block(f, l);
    if (c->arch->ffn == VKL_FFN_SWIGLU) return swiglu_ffn(f, l, "ffn_gate", "ffn_up", "ffn_down", h);
    linear(f, f->hb, f->xb, (int)l, "ffn_up", h, d);  // GELU
    ref_gelu(f->hb, f->hb, h);
    linear(f, f->xb, f->hb, (int)l, "ffn_down", d, h);
    ref_add(f->x, f->x, f->xb, d);
}

void vkl_cpu_forward_token(vkl_cpu_forward *f, uint32_t token, uint32_t pos, float *logits)
{
    const vkl_model *m = f->model;
    const vkl_model_config *c = &m->config;
    ref_embedding(f->x, &token, weight(f, -1, "token_embd.weight", (uint64_t)c->vocab_size * c->dim), 1,
                  c->vocab_size, c->dim);
    if (c->arch->learned_positions) {  // x += position_embd[pos]
        ref_embedding(f->xb, &pos, weight(f, -1, "position_embd.weight", (uint64_t)c->context * c->dim), 1, c->context,
                      c->dim);
        ref_add(f->x, f->x, f->xb, c->dim);
    }
    for (uint32_t l = 0; l < c->n_layers; l++) {
        if (c->arch->mla) mla_attention_block(f, l, pos);
        else attention_block(f, l, pos);
        ffn_block(f, l);
    }
    norm(f, f->x, f->x, -1, "output_norm", c->dim);
    ref_matmul(logits, f->x, weight(f, -1, "output.weight", (uint64_t)c->vocab_size * c->dim), 1, c->vocab_size, c->dim);
}
