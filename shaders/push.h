// Push-constant blocks are declared once, in headers that compile both as GLSL and as C11,
// so host and shader cannot drift apart. Fields are 4-byte scalars only (uint32_t, float),
// which have the same layout in both languages.
#ifndef VKLLM_PUSH_H
#define VKLLM_PUSH_H

#ifdef VULKAN  // defined by glslangValidator -V
#define PUSH_CONSTANTS(name) layout(push_constant) uniform name
#define PUSH_INSTANCE pc
#define uint32_t uint
#else
#include <stdint.h>
#define PUSH_CONSTANTS(name) struct name
#define PUSH_INSTANCE
#endif

// Largest workgroup count per dimension that every Vulkan device supports; longer 1-D
// dispatches are split into (x, y) with a linear index y * groups_x + x.
#define VKL_MAX_GROUPS_X 65535u

#endif
