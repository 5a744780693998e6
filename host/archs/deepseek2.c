// DeepSeek-V2 (and V2-Lite): multi-head latent attention, RMSNorm, RoPE on adjacent pairs of
// each head's last rope_dim values, SwiGLU; the first leading_dense_block_count layers dense,
// the rest routed experts (softmax gating, top-k weights as they are unless
// expert_weights_norm) beside shared experts that every token goes through.
//
// Attention per token (model.h's MLA sizes; q_nope, q_rope and the per-head matrices as
// llama.cpp's converter writes them since its MLA support):
//   q = x Wq (or rms_norm(x Wq_a) Wq_b), per head [q_nope | q_rope]; c = rms_norm(x Wkv_a);
//   k_rope = x Wk_rope (one head); rope(q_rope), rope(k_rope); cache (c, k_rope);
//   per head: a = W_kb[h]T q_nope, o = sum_t softmax_t(scale (a . c_t + q_rope . k_rope_t)) c_t,
//   out = W_vb[h] o; x += [out of every head] Wo
// where scale = 1 / sqrt(head_dim). The cache holds kv_lora_rank + rope_dim values a token
// (576 for V2) in place of 2 n_heads head_dim (6,144 for V2-Lite's 16 heads).
#include "host/arch.h"

const vkl_arch vkl_arch_deepseek2 = {
    .name = "deepseek2",
    .eps_key = "attention.layer_norm_rms_epsilon",
    .norm = VKL_NORM_RMS,
    .ffn = VKL_FFN_SWIGLU,
    .experts = true,
    .head_dim_key = true,
    .mla = true,
};
