// ffn_gate_up's variant choice for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_FFN_GATE_UP_H
#define VKLLM_KERNELS_FFN_GATE_UP_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kernel.h"
#include "runtime/context.h"

// The variant for one row of x (K wide) on this device, or NULL where the fused kernel does not
// apply (a batch, rows not on 16-byte vectors, f32 weights on a device that reads through
// storage buffers): then run the two matmuls and swiglu.
const char *vkl_ffn_gate_up_variant(const vkl_device_info *info, uint32_t M, uint32_t K, vkl_dtype weights);

#endif
