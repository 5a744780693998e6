// Command recording: dispatches with their descriptor sets and push constants, barriers,
// timestamps, and submission with a fence.
#ifndef VKLLM_COMMAND_H
#define VKLLM_COMMAND_H

#include "runtime/buffer.h"
#include "runtime/pipeline.h"

typedef struct vkl_binding {
    const vkl_buffer *buffer;
    VkDeviceSize offset;      // multiple of the device's minStorageBufferOffsetAlignment
    VkDeviceSize range;       // bytes, at most maxStorageBufferRange
} vkl_binding;

// Zero means default everywhere.
typedef struct vkl_cmd_desc {
    uint32_t max_dispatches;  // descriptor sets per recording (default 64)
    uint32_t max_timestamps;  // timestamp queries per recording (default 64)
    bool reusable;            // recorded once, submitted many times
} vkl_cmd_desc;

typedef struct vkl_cmd {
    vkl_device *device;
    VkCommandBuffer buffer;
    VkFence fence;
    VkDescriptorPool descriptor_pool;  // reset at every begin
    VkBufferView *views;               // stb_ds array: texel-buffer views of the recording
    VkQueryPool query_pool;            // VK_NULL_HANDLE without timestamp support
    uint32_t max_dispatches, dispatches;
    uint32_t max_timestamps, timestamps;
    bool reusable;
} vkl_cmd;

vkl_status vkl_cmd_create(vkl_device *device, const vkl_cmd_desc *desc, vkl_cmd **out);
void vkl_cmd_destroy(vkl_cmd *cmd);

// Starts a new recording; the previous one must have completed.
vkl_status vkl_cmd_begin(vkl_cmd *cmd);
// Records one dispatch; `push_size` must equal the pipeline's push-constant size.
vkl_status vkl_cmd_dispatch(vkl_cmd *cmd, const vkl_pipeline *pipeline, const vkl_binding *bindings,
                            const void *push, uint32_t push_size, const uint32_t groups[3]);
// Makes the writes of earlier dispatches visible to later ones.
void vkl_cmd_barrier(vkl_cmd *cmd);
// Copies bytes between buffers after all earlier shader writes; later shaders see the result.
void vkl_cmd_copy(vkl_cmd *cmd, const vkl_buffer *src, VkDeviceSize src_offset, const vkl_buffer *dst,
                  VkDeviceSize dst_offset, VkDeviceSize size);
// Writes a timestamp after all earlier work; *query receives its index.
vkl_status vkl_cmd_timestamp(vkl_cmd *cmd, uint32_t *query);
// Ends the recording with a barrier making all writes visible to transfers and the host.
vkl_status vkl_cmd_end(vkl_cmd *cmd);
// Ends the recording, submits it and waits for it.
vkl_status vkl_cmd_submit_wait(vkl_cmd *cmd);
// Submits ended recordings in order, in one submission, and waits on `fence` (then resets it).
vkl_status vkl_submit_wait(vkl_device *device, vkl_cmd *const *cmds, uint32_t count, VkFence fence);
// Nanoseconds between two timestamps of the last completed recording.
vkl_status vkl_cmd_elapsed_ns(vkl_cmd *cmd, uint32_t first, uint32_t last, double *ns);
// The same between timestamps of two recordings completed on the same queue.
vkl_status vkl_cmds_elapsed_ns(vkl_cmd *first_cmd, uint32_t first, vkl_cmd *last_cmd, uint32_t last, double *ns);

// Records, submits and waits for one buffer copy (used for staging).
vkl_status vkl_copy_buffer_now(vkl_device *device, const vkl_buffer *src, VkDeviceSize src_offset,
                               vkl_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize size);
// Records, submits and waits for a fill of the whole buffer with zeros.
vkl_status vkl_zero_buffer_now(vkl_device *device, vkl_buffer *dst);

#endif
