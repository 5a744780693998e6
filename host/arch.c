#include "host/arch.h"

#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/model.h"

static const vkl_arch *const ARCHS[] = {
#define VKL_ARCH(id) &vkl_arch_##id,
#include "host/archs/registry.h"
#undef VKL_ARCH
};

const vkl_arch *vkl_arch_find(const char *name, size_t length)
{
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (strlen(ARCHS[i]->name) == length && memcmp(ARCHS[i]->name, name, length) == 0) return ARCHS[i];
    return NULL;
}

void vkl_arch_names(char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0] && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "", ARCHS[i]->name);
        if (n < 0) break;
        used += (size_t)n;
    }
}

static void add(vkl_arch_tensor **out, int layer, const char *name, vkl_tensor_role role, uint32_t n_dims,
                uint64_t d0, uint64_t d1, uint64_t d2)
{
    vkl_arch_tensor t = { .n_dims = n_dims, .dims = { d0, d1, d2 }, .role = role };
    if (layer >= 0) snprintf(t.name, sizeof t.name, "blk.%d.%.40s", layer, name);
    else snprintf(t.name, sizeof t.name, "%.63s", name);
    arrput(*out, t);
}

// A norm: its weight, and for LayerNorm its bias.
static void add_norm(vkl_arch_tensor **out, const vkl_arch *a, int layer, const char *name, uint64_t n)
{
    char full[64];
    snprintf(full, sizeof full, "%.40s.weight", name);
    add(out, layer, full, VKL_ROLE_NORM, 1, n, 0, 0);
    if (a->norm == VKL_NORM_LAYER) {
        snprintf(full, sizeof full, "%.40s.bias", name);
        add(out, layer, full, VKL_ROLE_BIAS, 1, n, 0, 0);
    }
}

// A linear layer (out, in), with its bias when `bias`.
static void add_linear(vkl_arch_tensor **out, int layer, const char *name, uint64_t rows, uint64_t cols, bool bias)
{
    char full[64];
    snprintf(full, sizeof full, "%.40s.weight", name);
    add(out, layer, full, VKL_ROLE_MATRIX, 2, rows, cols, 0);
    if (bias) {
        snprintf(full, sizeof full, "%.40s.bias", name);
        add(out, layer, full, VKL_ROLE_BIAS, 1, rows, 0, 0);
    }
}

static void add_attention(vkl_arch_tensor **out, const vkl_model_config *c, int l, bool fused)
{
    const vkl_arch *a = c->arch;
    uint64_t d = c->dim, q = (uint64_t)c->n_heads * c->head_dim, kv = (uint64_t)c->n_kv_heads * c->head_dim;
    add_norm(out, a, l, "attn_norm", d);
    if (a->fused_qkv && fused) {
        add_linear(out, l, "attn_qkv", q + 2 * kv, d, a->qkv_bias);
    } else {
        add_linear(out, l, "attn_q", q, d, a->qkv_bias);
        add_linear(out, l, "attn_k", kv, d, a->qkv_bias);
        add_linear(out, l, "attn_v", kv, d, a->qkv_bias);
    }
    if (a->qk_norm) {
        add(out, l, "attn_q_norm.weight", VKL_ROLE_NORM, 1, c->head_dim, 0, 0);
        add(out, l, "attn_k_norm.weight", VKL_ROLE_NORM, 1, c->head_dim, 0, 0);
    }
    add_linear(out, l, "attn_output", d, q, a->linear_bias);
}

// Multi-head latent attention (model.h). As the file has it (`fused`): attn_q (or attn_q_b)
// with each head's rows [nope | rope], attn_kv_a_mqa with rows [latent | rope key]; as the
// forward pass reads them: attn_q_nope and attn_q_rope, attn_kv_a and attn_k_rope.
static void add_mla_attention(vkl_arch_tensor **out, const vkl_model_config *c, int l, bool fused)
{
    uint64_t d = c->dim, H = c->n_heads, r = c->rope_dim, nope = c->head_dim - r, lat = c->kv_lora_rank;
    uint64_t in = c->q_lora_rank ? c->q_lora_rank : d;
    add_norm(out, c->arch, l, "attn_norm", d);
    if (c->q_lora_rank) {
        add_linear(out, l, "attn_q_a", c->q_lora_rank, d, false);
        add(out, l, "attn_q_a_norm.weight", VKL_ROLE_NORM, 1, c->q_lora_rank, 0, 0);
    }
    if (fused) {
        add_linear(out, l, c->q_lora_rank ? "attn_q_b" : "attn_q", H * c->head_dim, in, false);
        add_linear(out, l, "attn_kv_a_mqa", lat + r, d, false);
    } else {
        add_linear(out, l, "attn_q_nope", H * nope, in, false);
        add_linear(out, l, "attn_q_rope", H * r, in, false);
        add_linear(out, l, "attn_kv_a", lat, d, false);
        add_linear(out, l, "attn_k_rope", r, d, false);
    }
    add(out, l, "attn_kv_a_norm.weight", VKL_ROLE_NORM, 1, lat, 0, 0);
    add(out, l, "attn_k_b.weight", VKL_ROLE_MATRIX, 3, H, lat, nope);
    add(out, l, "attn_v_b.weight", VKL_ROLE_MATRIX, 3, H, c->head_dim_v, lat);
    add_linear(out, l, "attn_output", d, H * c->head_dim_v, false);
}

// Routed experts (SwiGLU, each expert_hidden_dim wide) and the shared experts' one FFN.
static void add_experts(vkl_arch_tensor **out, const vkl_model_config *c, int l)
{
    uint64_t d = c->dim, h = vkl_model_expert_width(c), e = c->n_experts;
    add(out, l, "ffn_gate_inp.weight", VKL_ROLE_MATRIX, 2, e, d, 0);
    add(out, l, "ffn_gate_exps.weight", VKL_ROLE_MATRIX, 3, e, h, d);
    add(out, l, "ffn_up_exps.weight", VKL_ROLE_MATRIX, 3, e, h, d);
    add(out, l, "ffn_down_exps.weight", VKL_ROLE_MATRIX, 3, e, d, h);
    if (!c->n_shared_experts) return;
    uint64_t s = (uint64_t)c->n_shared_experts * h;
    add_linear(out, l, "ffn_gate_shexp", s, d, false);
    add_linear(out, l, "ffn_up_shexp", s, d, false);
    add_linear(out, l, "ffn_down_shexp", d, s, false);
}

static void add_ffn(vkl_arch_tensor **out, const vkl_model_config *c, int l, bool fused)
{
    const vkl_arch *a = c->arch;
    uint64_t d = c->dim, h = c->hidden_dim;
    add_norm(out, a, l, "ffn_norm", d);
    if (vkl_layer_has_experts(c, l)) {
        add_experts(out, c, l);
        return;
    }
    if (a->ffn == VKL_FFN_SWIGLU && a->fused_gate_up && fused) {
        add_linear(out, l, "ffn_up", 2 * h, d, a->linear_bias);
    } else {
        if (a->ffn == VKL_FFN_SWIGLU) add_linear(out, l, "ffn_gate", h, d, a->linear_bias);
        add_linear(out, l, "ffn_up", h, d, a->linear_bias);
    }
    add_linear(out, l, "ffn_down", d, h, a->linear_bias);
}

bool vkl_layer_has_experts(const vkl_model_config *c, int layer)
{
    return c->n_experts && (uint32_t)layer >= c->dense_lead;
}

void vkl_arch_tensors(const vkl_model_config *c, int layer, bool fused, vkl_arch_tensor **out)
{
    const vkl_arch *a = c->arch;
    if (layer >= 0) {
        if (a->mla) add_mla_attention(out, c, layer, fused);
        else add_attention(out, c, layer, fused);
        add_ffn(out, c, layer, fused);
        return;
    }
    add(out, -1, "token_embd.weight", VKL_ROLE_EMBEDDING, 2, c->vocab_size, c->dim, 0);
    if (a->learned_positions) add(out, -1, "position_embd.weight", VKL_ROLE_EMBEDDING, 2, c->context, c->dim, 0);
    add_norm(out, a, -1, "output_norm", c->dim);
    add(out, -1, "output.weight", VKL_ROLE_MATRIX, 2, c->vocab_size, c->dim, 0);
    arrlast(*out).optional = true;
}
