#include "host/model_presets.h"

#include <string.h>

#include "host/arch.h"
#include "host/model.h"

// Shapes as the models' published configs give them; tied: no output.weight (the classifier is
// token_embd, as those models' GGUF files ship it; GPT-2's converter writes output.weight).
const vkl_model_preset vkl_model_presets[] = {
    { "stories260k", { .arch = &vkl_arch_llama, .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8, .n_kv_heads = 4,
                       .vocab_size = 512, .context = 512, .rope_base = 10000.0f, .norm_eps = 1e-5f } },
    { "tinyllama", { .arch = &vkl_arch_llama, .dim = 2048, .hidden_dim = 5632, .n_layers = 22, .n_heads = 32,
                     .n_kv_heads = 4, .vocab_size = 32000, .context = 2048, .rope_base = 10000.0f, .norm_eps = 1e-5f } },
    { "llama2-7b", { .arch = &vkl_arch_llama, .dim = 4096, .hidden_dim = 11008, .n_layers = 32, .n_heads = 32,
                     .n_kv_heads = 32, .vocab_size = 32000, .context = 4096, .rope_base = 10000.0f, .norm_eps = 1e-5f } },
    { "llama3-8b", { .arch = &vkl_arch_llama, .dim = 4096, .hidden_dim = 14336, .n_layers = 32, .n_heads = 32,
                     .n_kv_heads = 8, .vocab_size = 128256, .context = 8192, .rope_base = 500000.0f, .norm_eps = 1e-5f } },
    { "mixtral-8x7b", { .arch = &vkl_arch_llama, .dim = 4096, .hidden_dim = 14336, .n_layers = 32, .n_heads = 32,
                        .n_kv_heads = 8, .vocab_size = 32000, .context = 32768, .rope_base = 1e6f, .norm_eps = 1e-5f,
                        .n_experts = 8, .n_experts_used = 2 } },
    { "gpt2-124m", { .arch = &vkl_arch_gpt2, .dim = 768, .hidden_dim = 3072, .n_layers = 12, .n_heads = 12,
                     .n_kv_heads = 12, .vocab_size = 50257, .context = 1024, .norm_eps = 1e-5f } },
    { "qwen2.5-0.5b", { .arch = &vkl_arch_qwen2, .dim = 896, .hidden_dim = 4864, .n_layers = 24, .n_heads = 14,
                        .n_kv_heads = 2, .vocab_size = 151936, .context = 32768, .rope_base = 1e6f, .norm_eps = 1e-6f },
      true },
    { "qwen3-0.6b", { .arch = &vkl_arch_qwen3, .dim = 1024, .hidden_dim = 3072, .n_layers = 28, .n_heads = 16,
                      .n_kv_heads = 8, .head_dim = 128, .vocab_size = 151936, .context = 40960, .rope_base = 1e6f,
                      .norm_eps = 1e-6f }, true },
    // DeepSeek-V2-Lite: YaRN from 4,096 trained positions by 40, its attention-scale term 0.1 *
    // mscale_all_dim (0.707) as llama.cpp's converter writes it.
    { "deepseek-v2-lite", { .arch = &vkl_arch_deepseek2, .dim = 2048, .hidden_dim = 10944, .n_layers = 27, .n_heads = 16,
                            .n_kv_heads = 1, .head_dim = 192, .rope_dim = 64, .head_dim_v = 128, .kv_lora_rank = 512,
                            .vocab_size = 102400, .context = 163840, .rope_base = 10000.0f, .rope_factor = 40.0f,
                            .rope_yarn_context = 4096, .rope_yarn_log_mul = 0.0707f, .norm_eps = 1e-6f,
                            .n_experts = 64, .n_experts_used = 6, .expert_hidden_dim = 1408, .n_shared_experts = 2,
                            .dense_lead = 1 } },
    // DeepSeek-V2 (236B): the query through its low-rank step, YaRN as V2-Lite, routed weights x 16.
    { "deepseek-v2", { .arch = &vkl_arch_deepseek2, .dim = 5120, .hidden_dim = 12288, .n_layers = 60, .n_heads = 128,
                       .n_kv_heads = 1, .head_dim = 192, .rope_dim = 64, .head_dim_v = 128, .kv_lora_rank = 512,
                       .q_lora_rank = 1536, .vocab_size = 102400, .context = 163840, .rope_base = 10000.0f,
                       .rope_factor = 40.0f, .rope_yarn_context = 4096, .rope_yarn_log_mul = 0.0707f,
                       .norm_eps = 1e-6f, .n_experts = 160, .n_experts_used = 6, .expert_hidden_dim = 1536,
                       .expert_weights_scale = 16.0f,
                       .n_shared_experts = 2, .dense_lead = 1 } },
    { "phi3-mini", { .arch = &vkl_arch_phi3, .dim = 3072, .hidden_dim = 8192, .n_layers = 32, .n_heads = 32,
                     .n_kv_heads = 32, .vocab_size = 32064, .context = 4096, .rope_base = 10000.0f, .norm_eps = 1e-5f } },
};
const size_t vkl_model_preset_count = sizeof vkl_model_presets / sizeof vkl_model_presets[0];

const vkl_model_preset *vkl_model_preset_find(const char *name)
{
    for (size_t i = 0; i < vkl_model_preset_count; i++)
        if (!strcmp(vkl_model_presets[i].name, name)) return &vkl_model_presets[i];
    return NULL;
}

const vkl_model_preset *vkl_model_preset_of_arch(const vkl_arch *arch)
{
    for (size_t i = 0; i < vkl_model_preset_count; i++)
        if (vkl_model_presets[i].config.arch == arch) return &vkl_model_presets[i];
    return NULL;
}

uint32_t vkl_preset_head_dim(const vkl_model_preset *p, uint32_t dim, uint32_t n_heads)
{
    const vkl_model_config *c = &p->config;
    if (!c->head_dim) return dim / n_heads;
    // The preset's head size relative to dim / heads (Qwen3-0.6B: 128 against 64), kept.
    return (uint32_t)((uint64_t)c->head_dim * c->n_heads * dim / ((uint64_t)c->dim * n_heads));
}

// x * num / den rounded to a multiple of 4, at least 4 (MLA's widths are read 4 at a time).
static uint32_t scaled4(uint32_t x, uint64_t num, uint64_t den)
{
    uint64_t v = ((uint64_t)x * num + den * 2) / (den * 4) * 4;
    return v < 4 ? 4 : (uint32_t)v;
}

void vkl_preset_fill(const vkl_model_preset *p, vkl_model_config *c)
{
    const vkl_model_config *pc = &p->config;
    c->head_dim = c->n_heads && c->dim % c->n_heads == 0 ? vkl_preset_head_dim(p, c->dim, c->n_heads) : 0;
    if (pc->expert_hidden_dim) c->expert_hidden_dim = scaled4(pc->expert_hidden_dim, c->hidden_dim, pc->hidden_dim);
    if (c->dense_lead >= c->n_layers) c->dense_lead = c->n_layers ? c->n_layers - 1 : 0;  // a MoE layer at least
    if (!pc->arch->mla || !c->head_dim) return;
    c->n_kv_heads = 1;
    c->kv_lora_rank = scaled4(pc->kv_lora_rank, c->dim, pc->dim);
    c->q_lora_rank = pc->q_lora_rank ? scaled4(pc->q_lora_rank, c->dim, pc->dim) : 0;
    c->rope_dim = scaled4(pc->rope_dim, c->head_dim, pc->head_dim);
    c->head_dim_v = scaled4(pc->head_dim_v, c->head_dim, pc->head_dim);
    c->head_dim = scaled4(c->head_dim, 1, 1);
    if (c->head_dim < c->rope_dim + 4) c->head_dim = c->rope_dim + 4;  // some dimensions without position
}
