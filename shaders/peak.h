// Push constants of the device-peak kernels (host/peaks.c): memory read and copy bandwidth,
// and f32 / f16 FMA throughput, measured with vkllm's own kernels.
#ifndef VKLLM_PEAK_H
#define VKLLM_PEAK_H

#include "push.h"

#define PEAK_WG 256u
#define PEAK_FMA_ITERS 128u   // loop trips per invocation (llvmpipe caps loops at 65,535 in total)
#define PEAK_FMA_CHAINS 8u    // independent accumulators, each a vec4 (f16: f16vec4)

PUSH_CONSTANTS(peak_push)
{
    uint32_t n;          // read / copy: vec4 elements
    uint32_t per_item;   // read: vec4s each invocation sums, strided by the invocation count
    uint32_t groups_x;   // see grid.glsl
    uint32_t invocations;
} PUSH_INSTANCE;

#endif
