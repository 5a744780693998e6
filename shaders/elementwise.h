// Push constants of the one-invocation-per-element kernels: add, swiglu, gelu.
#ifndef VKLLM_ELEMENTWISE_H
#define VKLLM_ELEMENTWISE_H

#include "push.h"

#define ELEMENTWISE_WG 256u

PUSH_CONSTANTS(elementwise_push)
{
    uint32_t n;         // elements
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
