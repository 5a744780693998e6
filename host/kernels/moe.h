// moe's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_MOE_H
#define VKLLM_KERNELS_MOE_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kernel.h"
#include "runtime/context.h"

// The variant for a model of width D and expert hidden width F on this device: the texel one
// where the device reads through texels and D and F keep rows on texels, else the storage one;
// for quantized experts the format's texel or storage variant, NULL where D or F is not a whole
// number of blocks. `down`: the down experts' type, which may differ from gate and up's
// (`weights`) when both are quantized (then pass its GGUF type id as the case's "down" dim); else NULL.
const char *vkl_moe_variant(const vkl_device_info *info, uint32_t D, uint32_t F, vkl_dtype weights, vkl_dtype down);

#endif
