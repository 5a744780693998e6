// Llama (1, 2, 3) and Mixtral-style MoE (llama.expert_count): RMSNorm, RoPE on adjacent pairs,
// no biases, SwiGLU, grouped-query attention.
#include "host/arch.h"

const vkl_arch vkl_arch_llama = {
    .name = "llama",
    .eps_key = "attention.layer_norm_rms_epsilon",
    .norm = VKL_NORM_RMS,
    .ffn = VKL_FFN_SWIGLU,
    .experts = true,
    .expert_weights_norm = true,
};
