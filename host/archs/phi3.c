// Phi-3: Llama's blocks with Q, K, V fused in attn_qkv and gate and up fused in ffn_up (gate the
// first half of its rows), NeoX RoPE.
#include "host/arch.h"

const vkl_arch vkl_arch_phi3 = {
    .name = "phi3",
    .eps_key = "attention.layer_norm_rms_epsilon",
    .norm = VKL_NORM_RMS,
    .rope_neox = true,
    .fused_qkv = true,
    .ffn = VKL_FFN_SWIGLU,
    .fused_gate_up = true,
    .sliding_window_key = true,
};
