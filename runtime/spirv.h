// Embedded SPIR-V modules, generated at build time from shaders/*.comp (cmake/Shaders.cmake).
#ifndef VKLLM_SPIRV_H
#define VKLLM_SPIRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct vkl_spirv_module {
    const char *name;     // "<shader>.<variant>", e.g. "matmul_gemv.f16"
    const uint32_t *code;
    size_t size;          // bytes
} vkl_spirv_module;

extern const vkl_spirv_module vkl_spirv_modules[];
extern const size_t vkl_spirv_module_count;

// Returns the module called `name`, or NULL.
const vkl_spirv_module *vkl_spirv_find(const char *name);

#endif
