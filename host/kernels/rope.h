// rope's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_ROPE_H
#define VKLLM_KERNELS_ROPE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/context.h"

// The variant name for head dimension D with R rotated dimensions, in the adjacent or NeoX
// pair layout: the texel twin where the device prefers texel reads, D % 4 == 0 and
// R % 8 == 0 (whole texels of four pairs), else the storage-buffer one.
const char *vkl_rope_variant(const vkl_device_info *info, uint32_t D, uint32_t R, bool neox);

#endif
