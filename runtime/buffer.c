#include "runtime/buffer.h"
#include "runtime/command.h"

#include <string.h>

static const VkMemoryPropertyFlags DIRECT_FLAGS =
    VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t allowed,
                            VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred)
{
    int fallback = -1;
    for (uint32_t i = 0; i < mem->memoryTypeCount; i++) {
        VkMemoryPropertyFlags flags = mem->memoryTypes[i].propertyFlags;
        if (!(allowed & (1u << i)) || (flags & required) != required) continue;
        if ((flags & preferred) == preferred) return (int)i;
        if (fallback < 0) fallback = (int)i;
    }
    return fallback;
}

bool vkl_device_has_direct_memory(const vkl_device *device)
{
    // On discrete GPUs host-visible device memory is a small BAR window or slow across the
    // bus, so only CPU and integrated devices map their buffers directly.
    VkPhysicalDeviceType type = device->info->type;
    if (type != VK_PHYSICAL_DEVICE_TYPE_CPU && type != VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) return false;
    return find_memory_type(&device->info->memory, ~0u, DIRECT_FLAGS, 0) >= 0;
}

// Every buffer may be bound as a storage buffer or viewed as a storage texel buffer.
#define STORAGE_USAGE (VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT)

static vkl_status create_raw(vkl_device *device, VkDeviceSize size, VkBufferUsageFlags usage,
                             VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred,
                             vkl_buffer *out)
{
    memset(out, 0, sizeof *out);
    VkBufferCreateInfo info = { VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO };
    info.size = size;
    info.usage = usage;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VK_CHECK(vkCreateBuffer(device->device, &info, NULL, &out->buffer));
    out->size = size;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device->device, out->buffer, &req);
    int type = find_memory_type(&device->info->memory, req.memoryTypeBits, required, preferred);
    if (type < 0) {
        vkl_log_error("no memory type with flags 0x%x for a buffer of %llu bytes", required,
                      (unsigned long long)size);
        vkl_buffer_destroy(device, out);
        return VKL_ERR_UNSUPPORTED;
    }
    VkMemoryAllocateInfo alloc = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO };
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = (uint32_t)type;
    VkResult result = vkAllocateMemory(device->device, &alloc, NULL, &out->memory);
    if (result != VK_SUCCESS) {
        vkl_log_error("vkAllocateMemory of %llu bytes failed: %s", (unsigned long long)req.size,
                      vkl_vk_result_name(result));
        vkl_buffer_destroy(device, out);
        return result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY
                   ? VKL_ERR_OUT_OF_MEMORY : VKL_ERR_VULKAN;
    }
    VK_CHECK(vkBindBufferMemory(device->device, out->buffer, out->memory, 0));
    VkMemoryPropertyFlags flags = device->info->memory.memoryTypes[type].propertyFlags;
    if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        VK_CHECK(vkMapMemory(device->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped));
        out->coherent = flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    }
    return VKL_OK;
}

vkl_status vkl_buffer_create(vkl_device *device, VkDeviceSize size, vkl_buffer *out)
{
    if (size == 0) return VKL_ERR_INVALID_ARG;
    VkBufferUsageFlags usage = STORAGE_USAGE | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if (vkl_device_has_direct_memory(device))
        return create_raw(device, size, usage, DIRECT_FLAGS, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, out);
    return create_raw(device, size, usage, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, out);
}

vkl_status vkl_buffer_create_host(vkl_device *device, VkDeviceSize size, vkl_buffer *out)
{
    if (size == 0) return VKL_ERR_INVALID_ARG;
    VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    return create_raw(device, size, STORAGE_USAGE | VK_BUFFER_USAGE_TRANSFER_DST_BIT, host,
                      VK_MEMORY_PROPERTY_HOST_CACHED_BIT, out);
}

void vkl_buffer_destroy(vkl_device *device, vkl_buffer *buffer)
{
    if (buffer->buffer) vkDestroyBuffer(device->device, buffer->buffer, NULL);
    if (buffer->memory) vkFreeMemory(device->device, buffer->memory, NULL);  // unmaps too
    memset(buffer, 0, sizeof *buffer);
}

static VkMappedMemoryRange whole_range(const vkl_buffer *buffer)
{
    VkMappedMemoryRange range = { VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE };
    range.memory = buffer->memory;
    range.size = VK_WHOLE_SIZE;
    return range;
}

static vkl_status create_staging(vkl_device *device, VkDeviceSize size, vkl_buffer *out)
{
    VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    return create_raw(device, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      host, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, out);
}

static vkl_status check_range(const vkl_buffer *buffer, VkDeviceSize offset, VkDeviceSize size)
{
    if (offset > buffer->size || size > buffer->size - offset) {
        vkl_log_error("buffer range [%llu, +%llu) exceeds buffer of %llu bytes", (unsigned long long)offset,
                      (unsigned long long)size, (unsigned long long)buffer->size);
        return VKL_ERR_INVALID_ARG;
    }
    return VKL_OK;
}

vkl_status vkl_buffer_upload(vkl_device *device, vkl_buffer *buffer, VkDeviceSize offset,
                             const void *data, VkDeviceSize size)
{
    VKL_TRY(check_range(buffer, offset, size));
    if (buffer->mapped) {
        memcpy((char *)buffer->mapped + offset, data, size);
        VkMappedMemoryRange range = whole_range(buffer);
        if (!buffer->coherent) VK_CHECK(vkFlushMappedMemoryRanges(device->device, 1, &range));
        return VKL_OK;
    }
    vkl_buffer staging;
    VKL_TRY(create_staging(device, size, &staging));
    memcpy(staging.mapped, data, size);
    vkl_status status = vkl_copy_buffer_now(device, &staging, 0, buffer, offset, size);
    vkl_buffer_destroy(device, &staging);
    return status;
}

vkl_status vkl_buffer_download(vkl_device *device, const vkl_buffer *buffer, VkDeviceSize offset,
                               void *data, VkDeviceSize size)
{
    VKL_TRY(check_range(buffer, offset, size));
    if (buffer->mapped) {
        VkMappedMemoryRange range = whole_range(buffer);
        if (!buffer->coherent) VK_CHECK(vkInvalidateMappedMemoryRanges(device->device, 1, &range));
        memcpy(data, (const char *)buffer->mapped + offset, size);
        return VKL_OK;
    }
    vkl_buffer staging;
    VKL_TRY(create_staging(device, size, &staging));
    vkl_status status = vkl_copy_buffer_now(device, buffer, offset, &staging, 0, size);
    if (status == VKL_OK) memcpy(data, staging.mapped, size);
    vkl_buffer_destroy(device, &staging);
    return status;
}
