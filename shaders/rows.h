// Push constants of the one-workgroup-per-row kernels: rms_norm, layer_norm, softmax, argmax.
// Row m is handled by workgroup (x, y) with m = y * groups_x + x.
#ifndef VKLLM_ROWS_H
#define VKLLM_ROWS_H

#include "push.h"

#define ROWS_WG 256u
#define ROWS_TEXEL_WG 8u  // texel variants (CPU devices): llvmpipe runs a workgroup as SIMD vectors
                          // that meet at each barrier; 8 (one AVX2 vector) ran 3x faster than 64

PUSH_CONSTANTS(rows_push)
{
    uint32_t M;         // rows
    uint32_t N;         // row length
    uint32_t groups_x;
    float scalar;       // rms_norm, layer_norm: eps · softmax: 1 / temperature · argmax: unused
} PUSH_INSTANCE;

#endif
