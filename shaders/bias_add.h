// Push constants of bias_add (shaders/bias_add.comp).
#ifndef VKLLM_BIAS_ADD_H
#define VKLLM_BIAS_ADD_H

#include "push.h"

#define BIAS_ADD_WG 256u

PUSH_CONSTANTS(bias_add_push)
{
    uint32_t M;         // rows
    uint32_t N;         // row width = bias length
    uint32_t groups_x;  // see grid.glsl
} PUSH_INSTANCE;

#endif
