// embedding's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_EMBEDDING_H
#define VKLLM_KERNELS_EMBEDDING_H

#include <stdbool.h>

#include "host/kernel.h"
#include "runtime/context.h"

// The variant name for a table of `table`'s type (f32, f16 or quantized) on this device: the
// table read through texels where the device prefers texel reads (which also lifts
// maxStorageBufferRange off the table).
const char *vkl_embedding_variant(const vkl_device_info *info, vkl_dtype table);

#endif
