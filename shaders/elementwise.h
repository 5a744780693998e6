// Push constants of the elementwise kernels (shaders/elementwise.glsl): add, swiglu, gelu.
#ifndef VKLLM_ELEMENTWISE_H
#define VKLLM_ELEMENTWISE_H

#include "push.h"

#define ELEMENTWISE_WG 256u
#define ELEMENTWISE_TEXELS 4u  // texel variants: consecutive 16-byte texels per invocation

PUSH_CONSTANTS(elementwise_push)
{
    uint32_t n;         // elements
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
