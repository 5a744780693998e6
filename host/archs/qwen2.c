// Qwen2 (and Qwen2.5): Llama's blocks with biases on Q, K and V and NeoX RoPE.
#include "host/arch.h"

const vkl_arch vkl_arch_qwen2 = {
    .name = "qwen2",
    .eps_key = "attention.layer_norm_rms_epsilon",
    .norm = VKL_NORM_RMS,
    .rope_neox = true,
    .qkv_bias = true,
    .ffn = VKL_FFN_SWIGLU,
};
