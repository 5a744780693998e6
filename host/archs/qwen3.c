// Qwen3: RMSNorm of each query and key head before RoPE (QK-norm), NeoX RoPE, no biases, a head
// size of its own (qwen3.attention.key_length: 128 for 0.6B, whose heads x 128 exceed its width).
#include "host/arch.h"

const vkl_arch vkl_arch_qwen3 = {
    .name = "qwen3",
    .eps_key = "attention.layer_norm_rms_epsilon",
    .norm = VKL_NORM_RMS,
    .rope_neox = true,
    .qk_norm = true,
    .ffn = VKL_FFN_SWIGLU,
    .head_dim_key = true,
};
