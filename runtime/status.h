// Result codes of vkllm and the checks that turn Vulkan failures into them.
#ifndef VKLLM_STATUS_H
#define VKLLM_STATUS_H

#include <volk.h>

typedef enum vkl_status {
    VKL_OK = 0,
    VKL_ERR_VULKAN,        // a Vulkan call failed; the call and its VkResult were logged
    VKL_ERR_NO_DEVICE,     // no usable Vulkan device
    VKL_ERR_UNSUPPORTED,   // the device lacks a capability the operation needs
    VKL_ERR_OUT_OF_MEMORY, // host or device allocation failed, or a size is too large
    VKL_ERR_INVALID_ARG,   // bad argument or input
    VKL_ERR_IO,            // file system error
} vkl_status;

// Short description of a status code.
const char *vkl_status_string(vkl_status status);

// Name of a VkResult, e.g. "VK_ERROR_DEVICE_LOST".
const char *vkl_vk_result_name(VkResult result);

// Prints "vkllm: error: ..." to stderr.
void vkl_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints "vkllm: warning: ..." to stderr.
void vkl_log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Evaluates a Vulkan call; on failure logs the call, its VkResult and file:line and
// returns VKL_ERR_VULKAN from the enclosing function.
#define VK_CHECK(call)                                                                   \
    do {                                                                                 \
        VkResult vk_check_result_ = (call);                                              \
        if (vk_check_result_ != VK_SUCCESS) {                                            \
            vkl_log_error("%s failed: %s (%s:%d)", #call,                                \
                          vkl_vk_result_name(vk_check_result_), __FILE__, __LINE__);     \
            return VKL_ERR_VULKAN;                                                       \
        }                                                                                \
    } while (0)

// Evaluates a call returning vkl_status and returns its status upward on failure.
#define VKL_TRY(call)                                                                    \
    do {                                                                                 \
        vkl_status vkl_try_status_ = (call);                                             \
        if (vkl_try_status_ != VKL_OK) return vkl_try_status_;                           \
    } while (0)

#endif
