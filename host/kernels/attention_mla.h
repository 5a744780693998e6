// attention_mla's sizes for callers that run it (the scheduler).
#ifndef VKLLM_KERNELS_ATTENTION_MLA_H
#define VKLLM_KERNELS_ATTENTION_MLA_H

#include <stdbool.h>
#include <stdint.h>

// Floats of the partials buffer for M queries of H heads over a cache of `capacity` positions.
uint64_t vkl_attention_mla_partials(uint32_t M, uint32_t H, uint32_t L, uint32_t capacity);
// Whether the kernel takes these sizes: L and R multiples of 4 within MLA_LMAX and MLA_RMAX,
// M * H rows within one grid dimension.
bool vkl_attention_mla_fits(uint32_t M, uint32_t H, uint32_t L, uint32_t R);

#endif
