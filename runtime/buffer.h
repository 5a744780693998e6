// Storage buffers: device-local memory, filled and read back through a staging buffer, or
// mapped directly on devices whose device-local memory the host can see (CPU, unified memory).
#ifndef VKLLM_BUFFER_H
#define VKLLM_BUFFER_H

#include "runtime/context.h"

typedef struct vkl_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;        // non-NULL on the direct path
    bool coherent;       // mapped memory needs no flush or invalidate
} vkl_buffer;

// Creates a storage buffer of `size` bytes (> 0, at most the device's maxStorageBufferRange
// is not required: bindings are checked at dispatch).
vkl_status vkl_buffer_create(vkl_device *device, VkDeviceSize size, vkl_buffer *out);
// Creates a storage buffer in host-visible, coherent memory, mapped for the buffer's life: for
// small per-token values the host writes (token, position) and results it reads (logits).
vkl_status vkl_buffer_create_host(vkl_device *device, VkDeviceSize size, vkl_buffer *out);
void vkl_buffer_destroy(vkl_device *device, vkl_buffer *buffer);

// Copies host bytes into the buffer at `offset`; returns once the copy is done.
vkl_status vkl_buffer_upload(vkl_device *device, vkl_buffer *buffer, VkDeviceSize offset,
                             const void *data, VkDeviceSize size);
// Copies buffer bytes at `offset` to the host; the device must be done writing them.
vkl_status vkl_buffer_download(vkl_device *device, const vkl_buffer *buffer, VkDeviceSize offset,
                               void *data, VkDeviceSize size);

// True when buffers of this device are host-mapped (no staging copies).
bool vkl_device_has_direct_memory(const vkl_device *device);

#endif
