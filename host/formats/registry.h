// The weight-format registry: one line per quantized format, VKL_FORMAT(UPPER, lower).
// `lower` names host/formats/<lower>.c (which defines `const vkl_format vkl_format_<lower>`:
// layout, dequantize, quantize, error term) and shaders/formats/<lower>.glsl (the device's
// dequantization behind shaders/weight_format.glsl's interface). cmake/Shaders.cmake reads these
// lines too, to generate every weight-reading shader's variant per format: so adding a format is
// its two files and one line here. The order is vkl_dtype's (host/kernel.h) after VKL_DTYPE_U32.
#ifndef VKLLM_FORMATS_REGISTRY_H
#define VKLLM_FORMATS_REGISTRY_H

#define VKLLM_FORMATS(X) \
    X(Q8_0, q8_0)        \
    X(Q4_0, q4_0)        \
    X(Q4_1, q4_1)        \
    X(Q5_0, q5_0)        \
    X(Q5_1, q5_1)        \
    X(Q2_K, q2_k)        \
    X(Q3_K, q3_k)        \
    X(Q4_K, q4_k)        \
    X(Q5_K, q5_k)        \
    X(Q6_K, q6_k)

#endif
