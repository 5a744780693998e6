#include "host/kernel.h"
#include "host/kernels/registry.h"

#define DECLARE_KERNEL(name) extern const vkl_kernel vkl_kernel_##name;
VKLLM_KERNELS(DECLARE_KERNEL)
#define KERNEL_ENTRY(name) &vkl_kernel_##name,
const vkl_kernel *const vkl_kernels[] = { VKLLM_KERNELS(KERNEL_ENTRY) };
const uint32_t vkl_kernel_count = sizeof vkl_kernels / sizeof vkl_kernels[0];
