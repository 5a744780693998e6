// rms_norm: y[m, :] = x[m, :] / sqrt(mean(x[m, :]²) + eps) * w[:]
// Bindings: 0 x (M, N) f32 · 1 w (N) f32 · 2 y (M, N) f32.
#ifndef VKLLM_RMS_NORM_H
#define VKLLM_RMS_NORM_H

#include "push.h"

#define RMS_NORM_WG 256u  // one workgroup per row

PUSH_CONSTANTS(rms_norm_push)
{
    uint32_t M;
    uint32_t N;
    uint32_t groups_x;  // row m = group.y * groups_x + group.x
    float eps;
} PUSH_INSTANCE;

#endif
