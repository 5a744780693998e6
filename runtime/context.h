// Vulkan instance, physical-device capabilities, and the logical device vkllm runs on.
#ifndef VKLLM_CONTEXT_H
#define VKLLM_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/status.h"

// What vkllm needs to know about a physical device, queried once at instance creation.
typedef struct vkl_device_info {
    uint32_t index;                       // position in `vkllm devices`
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    uint32_t vendor_id, device_id;
    const char *vendor;                   // "NVIDIA", "AMD", ..., or "unknown"
    char driver_name[VK_MAX_DRIVER_NAME_SIZE];
    char driver_info[VK_MAX_DRIVER_INFO_SIZE];
    char driver_version[32];              // decoded per vendor convention
    VkPhysicalDeviceType type;
    uint32_t api_version;
    bool usable;                          // meets vkllm's minimum (Vulkan 1.1, compute subgroup arithmetic)
    const char *unusable_reason;
    uint32_t subgroup_size;               // default size for compute
    uint32_t subgroup_min, subgroup_max;  // equal to subgroup_size without size control
    bool subgroup_size_control;
    bool subgroup_arithmetic;             // arithmetic subgroup ops in compute shaders
    bool fp16;                            // shaderFloat16
    bool int8;                            // shaderInt8
    bool storage16;                       // storageBuffer16BitAccess
    bool storage8;                        // storageBuffer8BitAccess
    uint32_t max_shared_memory;           // bytes per workgroup
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    uint32_t max_storage_buffer_range;    // bytes one binding may span
    uint32_t max_push_constants;
    uint64_t storage_offset_alignment;    // minStorageBufferOffsetAlignment
    bool texel_reads;                     // RGBA32UI storage texel buffers (read-only bindings)
    uint32_t max_texel_buffer_elements;   // texels one texel-buffer binding may span
    uint64_t texel_offset_alignment;      // minTexelBufferOffsetAlignment
    float timestamp_period_ns;
    uint8_t pipeline_cache_uuid[VK_UUID_SIZE];
    VkPhysicalDeviceMemoryProperties memory;
} vkl_device_info;

// Zero means default everywhere.
typedef struct vkl_instance_desc {
    bool validate;                        // enable VK_LAYER_KHRONOS_validation and count its messages
    bool cpu_inline_dispatch;             // CPU devices (llvmpipe) run each dispatch on their queue thread
} vkl_instance_desc;

typedef struct vkl_instance {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    uint32_t validation_messages;         // incremented by the debug messenger
    bool cpu_inline_dispatch;             // LP_NUM_THREADS=0 set by vkl_instance_create (desc asked, user had not)
    uint32_t device_count;
    VkPhysicalDevice *physical_devices;   // (device_count)
    vkl_device_info *device_infos;        // (device_count)
} vkl_instance;

// Loads Vulkan, creates the instance and queries every physical device. With
// desc->cpu_inline_dispatch it first sets LP_NUM_THREADS=0 (process-wide; llvmpipe reads it when
// it is enumerated) unless the environment already sets LP_NUM_THREADS.
vkl_status vkl_instance_create(const vkl_instance_desc *desc, vkl_instance **out);
// Destroys the instance; all devices made from it must be destroyed first.
void vkl_instance_destroy(vkl_instance *instance);

// Picks a device: `requested` >= 0 is an index from `vkllm devices`; -1 prefers a discrete
// GPU, then an integrated, virtual, other, and last a CPU device.
vkl_status vkl_instance_pick_device(const vkl_instance *instance, int requested, uint32_t *index);

typedef struct vkl_device {
    vkl_instance *instance;
    const vkl_device_info *info;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    uint32_t timestamp_valid_bits;        // 0: no timestamps on this queue
    VkCommandPool command_pool;
    VkPipelineCache pipeline_cache;
    char pipeline_cache_path[1024];       // empty: not persisted
} vkl_device;

// Zero means default everywhere.
typedef struct vkl_device_desc {
    int index;                            // device index, as from vkl_instance_pick_device
    bool no_pipeline_cache;               // do not read or write the on-disk pipeline cache
} vkl_device_desc;

// Creates a logical device with one compute queue, a command pool and the pipeline cache.
vkl_status vkl_device_create(vkl_instance *instance, const vkl_device_desc *desc, vkl_device **out);
// Waits for the device to go idle, saves the pipeline cache and destroys the device.
void vkl_device_destroy(vkl_device *device);

// Whether kernels should read their large inputs through storage texel buffers rather than
// storage buffers: true on CPU devices, where llvmpipe (Mesa 22.3) turns each 32-bit storage-
// buffer load into a bounds-checked scalar load per lane (1.2 GB/s measured on 2 cores) but
// fetches a 16-byte texel per lane in a few instructions (19 GB/s, near DRAM). VKLLM_READ_PATH
// =texel or =storage overrides the choice, so both paths can be timed on any device.
bool vkl_device_prefers_texel_reads(const vkl_device_info *info);

// Human-readable name of a device type ("discrete GPU", "CPU", ...).
const char *vkl_device_type_name(VkPhysicalDeviceType type);

#endif
