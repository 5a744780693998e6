#include "host/model_presets.h"

#include <string.h>

const vkl_model_preset vkl_model_presets[] = {
    { "stories260k", { .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8, .n_kv_heads = 4, .vocab_size = 512,
                       .context = 512, .rope_base = 10000.0f, .rms_eps = 1e-5f } },
    { "tinyllama", { .dim = 2048, .hidden_dim = 5632, .n_layers = 22, .n_heads = 32, .n_kv_heads = 4, .vocab_size = 32000,
                     .context = 2048, .rope_base = 10000.0f, .rms_eps = 1e-5f } },
    { "llama2-7b", { .dim = 4096, .hidden_dim = 11008, .n_layers = 32, .n_heads = 32, .n_kv_heads = 32,
                     .vocab_size = 32000, .context = 4096, .rope_base = 10000.0f, .rms_eps = 1e-5f } },
    { "llama3-8b", { .dim = 4096, .hidden_dim = 14336, .n_layers = 32, .n_heads = 32, .n_kv_heads = 8,
                     .vocab_size = 128256, .context = 8192, .rope_base = 500000.0f, .rms_eps = 1e-5f } },
    { "mixtral-8x7b", { .dim = 4096, .hidden_dim = 14336, .n_layers = 32, .n_heads = 32, .n_kv_heads = 8,
                        .vocab_size = 32000, .context = 32768, .rope_base = 1e6f, .rms_eps = 1e-5f, .n_experts = 8,
                        .n_experts_used = 2 } },
};
const size_t vkl_model_preset_count = sizeof vkl_model_presets / sizeof vkl_model_presets[0];

const vkl_model_preset *vkl_model_preset_find(const char *name)
{
    for (size_t i = 0; i < vkl_model_preset_count; i++)
        if (!strcmp(vkl_model_presets[i].name, name)) return &vkl_model_presets[i];
    return NULL;
}
