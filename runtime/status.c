#include "runtime/status.h"
#include "runtime/spirv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vkl_status_string(vkl_status status)
{
    switch (status) {
    case VKL_OK: return "success";
    case VKL_ERR_VULKAN: return "Vulkan call failed";
    case VKL_ERR_NO_DEVICE: return "no usable Vulkan device";
    case VKL_ERR_UNSUPPORTED: return "not supported by the device";
    case VKL_ERR_OUT_OF_MEMORY: return "out of memory";
    case VKL_ERR_INVALID_ARG: return "invalid argument";
    case VKL_ERR_IO: return "I/O error";
    }
    return "unknown status";
}

const char *vkl_vk_result_name(VkResult result)
{
    switch (result) {
#define VKL_RESULT_CASE(r) case r: return #r;
    VKL_RESULT_CASE(VK_SUCCESS)
    VKL_RESULT_CASE(VK_NOT_READY)
    VKL_RESULT_CASE(VK_TIMEOUT)
    VKL_RESULT_CASE(VK_EVENT_SET)
    VKL_RESULT_CASE(VK_EVENT_RESET)
    VKL_RESULT_CASE(VK_INCOMPLETE)
    VKL_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    VKL_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    VKL_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    VKL_RESULT_CASE(VK_ERROR_DEVICE_LOST)
    VKL_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    VKL_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    VKL_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    VKL_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    VKL_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    VKL_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    VKL_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    VKL_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
    VKL_RESULT_CASE(VK_ERROR_UNKNOWN)
    VKL_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    VKL_RESULT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    VKL_RESULT_CASE(VK_ERROR_FRAGMENTATION)
    VKL_RESULT_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    VKL_RESULT_CASE(VK_PIPELINE_COMPILE_REQUIRED)
#undef VKL_RESULT_CASE
    default: return "VK_RESULT_UNKNOWN";
    }
}

static void log_prefixed(const char *prefix, const char *fmt, va_list args)
{
    fprintf(stderr, "vkllm: %s: ", prefix);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}

void vkl_log_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    log_prefixed("error", fmt, args);
    va_end(args);
}

void vkl_log_warning(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    log_prefixed("warning", fmt, args);
    va_end(args);
}

const vkl_spirv_module *vkl_spirv_find(const char *name)
{
    for (size_t i = 0; i < vkl_spirv_module_count; i++)
        if (strcmp(vkl_spirv_modules[i].name, name) == 0) return &vkl_spirv_modules[i];
    return NULL;
}
