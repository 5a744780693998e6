// GPT-2: LayerNorm with bias, learned absolute positions, fused QKV with bias, a bias in every
// linear layer, GELU (tanh approximation), the classifier tied to the embedding.
#include "host/arch.h"

const vkl_arch vkl_arch_gpt2 = {
    .name = "gpt2",
    .eps_key = "attention.layer_norm_epsilon",
    .norm = VKL_NORM_LAYER,
    .learned_positions = true,
    .fused_qkv = true,
    .qkv_bias = true,
    .linear_bias = true,
    .ffn = VKL_FFN_GELU,
};
