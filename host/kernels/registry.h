// The kernel registry: one line per kernel. X(name) expects `const vkl_kernel vkl_kernel_<name>`
// in host/kernels/<name>.c.
#ifndef VKLLM_REGISTRY_H
#define VKLLM_REGISTRY_H

#define VKLLM_KERNELS(X) \
    X(matmul)            \
    X(rms_norm)          \
    X(add)               \
    X(swiglu)            \
    X(ffn_gate_up)       \
    X(attn_qkv)          \
    X(gelu)              \
    X(bias_add)          \
    X(layer_norm)        \
    X(embedding)         \
    X(softmax)           \
    X(argmax)            \
    X(rope)              \
    X(kv_append)         \
    X(attention)         \
    X(attention_mla)     \
    X(head_matmul)       \
    X(moe_route)         \
    X(moe_count)         \
    X(moe)

#endif
