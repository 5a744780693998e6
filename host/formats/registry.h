// The weight-format registry: one line per quantized format, VKL_FORMAT(UPPER, lower).
// `lower` names host/formats/<lower>.c (which defines `const vkl_format vkl_format_<lower>`:
// layout, dequantize, quantize, error term) and shaders/formats/<lower>.glsl (the device's
// dequantization behind shaders/weight_format.glsl's interface). cmake/Shaders.cmake reads these
// lines too, to generate every weight-reading shader's variant per format: so adding a format is
// its two files and one line here. The order is vkl_dtype's (host/kernel.h) after VKL_DTYPE_U32.
#ifndef VKLLM_FORMATS_REGISTRY_H
#define VKLLM_FORMATS_REGISTRY_H

#define VKLLM_FORMATS(X) \
    X(Q8_0, q8_0)

#endif
