#include "runtime/command.h"

#include <stb/stb_ds.h>
#include <stdlib.h>

static void destroy_views(vkl_cmd *cmd)
{
    for (ptrdiff_t i = 0; i < arrlen(cmd->views); i++) vkDestroyBufferView(cmd->device->device, cmd->views[i], NULL);
    arrsetlen(cmd->views, 0);
}

static vkl_status create_pools(vkl_cmd *cmd)
{
    VkDevice dev = cmd->device->device;
    VkDescriptorPoolSize sizes[2] = { { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, cmd->max_dispatches * VKL_MAX_BINDINGS },
                                      { VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, cmd->max_dispatches * VKL_MAX_BINDINGS } };
    VkDescriptorPoolCreateInfo pool = { VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO };
    pool.maxSets = cmd->max_dispatches;
    pool.poolSizeCount = cmd->device->info->texel_reads ? 2 : 1;
    pool.pPoolSizes = sizes;
    VK_CHECK(vkCreateDescriptorPool(dev, &pool, NULL, &cmd->descriptor_pool));
    if (cmd->device->timestamp_valid_bits) {
        VkQueryPoolCreateInfo query = { VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO };
        query.queryType = VK_QUERY_TYPE_TIMESTAMP;
        query.queryCount = cmd->max_timestamps;
        VK_CHECK(vkCreateQueryPool(dev, &query, NULL, &cmd->query_pool));
    }
    return VKL_OK;
}

static vkl_status create_buffer_and_fence(vkl_cmd *cmd)
{
    VkCommandBufferAllocateInfo alloc = { VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO };
    alloc.commandPool = cmd->device->command_pool;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    VK_CHECK(vkAllocateCommandBuffers(cmd->device->device, &alloc, &cmd->buffer));
    VkFenceCreateInfo fence = { VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VK_CHECK(vkCreateFence(cmd->device->device, &fence, NULL, &cmd->fence));
    return VKL_OK;
}

vkl_status vkl_cmd_create(vkl_device *device, const vkl_cmd_desc *desc, vkl_cmd **out)
{
    *out = NULL;
    vkl_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) return VKL_ERR_OUT_OF_MEMORY;
    cmd->device = device;
    cmd->max_dispatches = desc && desc->max_dispatches ? desc->max_dispatches : 64;
    cmd->max_timestamps = desc && desc->max_timestamps ? desc->max_timestamps : 64;
    cmd->reusable = desc && desc->reusable;
    vkl_status status = create_pools(cmd);
    if (status == VKL_OK) status = create_buffer_and_fence(cmd);
    if (status != VKL_OK) {
        vkl_cmd_destroy(cmd);
        return status;
    }
    *out = cmd;
    return VKL_OK;
}

void vkl_cmd_destroy(vkl_cmd *cmd)
{
    if (!cmd) return;
    VkDevice dev = cmd->device->device;
    if (cmd->fence) vkDestroyFence(dev, cmd->fence, NULL);
    if (cmd->buffer) vkFreeCommandBuffers(dev, cmd->device->command_pool, 1, &cmd->buffer);
    if (cmd->query_pool) vkDestroyQueryPool(dev, cmd->query_pool, NULL);
    if (cmd->descriptor_pool) vkDestroyDescriptorPool(dev, cmd->descriptor_pool, NULL);
    destroy_views(cmd);
    arrfree(cmd->views);
    free(cmd);
}

vkl_status vkl_cmd_begin(vkl_cmd *cmd)
{
    VK_CHECK(vkResetDescriptorPool(cmd->device->device, cmd->descriptor_pool, 0));
    destroy_views(cmd);  // the previous recording has completed
    VK_CHECK(vkResetCommandBuffer(cmd->buffer, 0));
    VkCommandBufferBeginInfo begin = { VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    begin.flags = cmd->reusable ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    VK_CHECK(vkBeginCommandBuffer(cmd->buffer, &begin));
    if (cmd->query_pool) vkCmdResetQueryPool(cmd->buffer, cmd->query_pool, 0, cmd->max_timestamps);
    cmd->dispatches = 0;
    cmd->timestamps = 0;
    return VKL_OK;
}

static vkl_status check_binding(const vkl_device *device, const vkl_pipeline *pipeline, uint32_t i,
                                const vkl_binding *b)
{
    const vkl_device_info *info = device->info;
    bool texel = pipeline->texel_mask >> i & 1u;
    const char *why = NULL;
    if (!b->buffer || !b->buffer->buffer) why = "no buffer";
    else if (b->range == 0) why = "empty range";
    else if (texel && b->offset % info->texel_offset_alignment) why = "offset not aligned to minTexelBufferOffsetAlignment";
    else if (texel && b->range < 16) why = "range below one 16-byte texel";
    else if (texel && b->range / 16 > info->max_texel_buffer_elements) why = "range exceeds maxTexelBufferElements";
    else if (!texel && b->offset % info->storage_offset_alignment) why = "offset not aligned to minStorageBufferOffsetAlignment";
    else if (!texel && b->range > info->max_storage_buffer_range) why = "range exceeds maxStorageBufferRange";
    else if (b->offset > b->buffer->size || b->range > b->buffer->size - b->offset) why = "range exceeds the buffer";
    if (!why) return VKL_OK;
    vkl_log_error("%s binding %u (offset %llu, range %llu): %s", pipeline->shader, i,
                  (unsigned long long)b->offset, (unsigned long long)b->range, why);
    return VKL_ERR_INVALID_ARG;
}

// A view of whole 16-byte texels: a trailing partial texel is left out, as kernels that read
// through texels only read data that fills whole ones. It lives until the next begin.
static vkl_status create_view(vkl_cmd *cmd, const vkl_binding *b, VkBufferView *view)
{
    VkBufferViewCreateInfo info = { VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO };
    info.buffer = b->buffer->buffer;
    info.format = VK_FORMAT_R32G32B32A32_UINT;
    info.offset = b->offset;
    info.range = b->range & ~(VkDeviceSize)15;
    VK_CHECK(vkCreateBufferView(cmd->device->device, &info, NULL, view));
    arrput(cmd->views, *view);
    return VKL_OK;
}

static vkl_status write_descriptor_set(vkl_cmd *cmd, const vkl_pipeline *pipeline,
                                       const vkl_binding *bindings, VkDescriptorSet *set)
{
    VkDescriptorSetAllocateInfo alloc = { VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO };
    alloc.descriptorPool = cmd->descriptor_pool;
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &pipeline->set_layout;
    VK_CHECK(vkAllocateDescriptorSets(cmd->device->device, &alloc, set));
    VkDescriptorBufferInfo infos[VKL_MAX_BINDINGS];
    VkBufferView views[VKL_MAX_BINDINGS];
    VkWriteDescriptorSet writes[VKL_MAX_BINDINGS];
    for (uint32_t i = 0; i < pipeline->binding_count; i++) {
        writes[i] = (VkWriteDescriptorSet){ VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET };
        writes[i].dstSet = *set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        if (pipeline->texel_mask >> i & 1u) {
            VKL_TRY(create_view(cmd, &bindings[i], &views[i]));
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
            writes[i].pTexelBufferView = &views[i];
        } else {
            infos[i] = (VkDescriptorBufferInfo){ bindings[i].buffer->buffer, bindings[i].offset, bindings[i].range };
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
    }
    vkUpdateDescriptorSets(cmd->device->device, pipeline->binding_count, writes, 0, NULL);
    return VKL_OK;
}

vkl_status vkl_cmd_dispatch(vkl_cmd *cmd, const vkl_pipeline *pipeline, const vkl_binding *bindings,
                            const void *push, uint32_t push_size, const uint32_t groups[3])
{
    const vkl_device_info *info = cmd->device->info;
    if (push_size != pipeline->push_size) {
        vkl_log_error("%s: push constants of %u bytes, pipeline expects %u", pipeline->shader, push_size,
                      pipeline->push_size);
        return VKL_ERR_INVALID_ARG;
    }
    for (int d = 0; d < 3; d++) {
        if (groups[d] == 0 || groups[d] > info->max_workgroup_count[d]) {
            vkl_log_error("%s: %u workgroups in dimension %d (device allows 1..%u)", pipeline->shader,
                          groups[d], d, info->max_workgroup_count[d]);
            return VKL_ERR_INVALID_ARG;
        }
    }
    if (cmd->dispatches == cmd->max_dispatches) {
        vkl_log_error("%s: more than %u dispatches in one recording", pipeline->shader, cmd->max_dispatches);
        return VKL_ERR_INVALID_ARG;
    }
    for (uint32_t i = 0; i < pipeline->binding_count; i++)
        VKL_TRY(check_binding(cmd->device, pipeline, i, &bindings[i]));
    VkDescriptorSet set;
    VKL_TRY(write_descriptor_set(cmd, pipeline, bindings, &set));
    cmd->dispatches++;
    vkCmdBindPipeline(cmd->buffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->pipeline);
    vkCmdBindDescriptorSets(cmd->buffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout, 0, 1, &set, 0, NULL);
    if (push_size)
        vkCmdPushConstants(cmd->buffer, pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(cmd->buffer, groups[0], groups[1], groups[2]);
    return VKL_OK;
}

static void memory_barrier(VkCommandBuffer buffer, VkPipelineStageFlags src_stage, VkAccessFlags src,
                           VkPipelineStageFlags dst_stage, VkAccessFlags dst)
{
    VkMemoryBarrier barrier = { VK_STRUCTURE_TYPE_MEMORY_BARRIER };
    barrier.srcAccessMask = src;
    barrier.dstAccessMask = dst;
    vkCmdPipelineBarrier(buffer, src_stage, dst_stage, 0, 1, &barrier, 0, NULL, 0, NULL);
}

void vkl_cmd_barrier(vkl_cmd *cmd)
{
    memory_barrier(cmd->buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void vkl_cmd_copy(vkl_cmd *cmd, const vkl_buffer *src, VkDeviceSize src_offset, const vkl_buffer *dst,
                  VkDeviceSize dst_offset, VkDeviceSize size)
{
    memory_barrier(cmd->buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferCopy region = { src_offset, dst_offset, size };
    vkCmdCopyBuffer(cmd->buffer, src->buffer, dst->buffer, 1, &region);
    memory_barrier(cmd->buffer, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

vkl_status vkl_cmd_timestamp(vkl_cmd *cmd, uint32_t *query)
{
    if (!cmd->query_pool) return VKL_ERR_UNSUPPORTED;
    if (cmd->timestamps == cmd->max_timestamps) return VKL_ERR_INVALID_ARG;
    *query = cmd->timestamps++;
    vkCmdWriteTimestamp(cmd->buffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->query_pool, *query);
    return VKL_OK;
}

static vkl_status submit_and_wait(vkl_device *device, VkCommandBuffer buffer, VkFence fence)
{
    VkSubmitInfo submit = { VK_STRUCTURE_TYPE_SUBMIT_INFO };
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &buffer;
    VK_CHECK(vkResetFences(device->device, 1, &fence));
    VK_CHECK(vkQueueSubmit(device->queue, 1, &submit, fence));
    VK_CHECK(vkWaitForFences(device->device, 1, &fence, VK_TRUE, UINT64_MAX));
    return VKL_OK;
}

vkl_status vkl_cmd_end(vkl_cmd *cmd)
{
    // Shader writes must reach later transfers (staged downloads) and host reads (mapped buffers).
    memory_barrier(cmd->buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_READ_BIT);
    VK_CHECK(vkEndCommandBuffer(cmd->buffer));
    return VKL_OK;
}

vkl_status vkl_cmd_submit_wait(vkl_cmd *cmd)
{
    VKL_TRY(vkl_cmd_end(cmd));
    return submit_and_wait(cmd->device, cmd->buffer, cmd->fence);
}

vkl_status vkl_submit_wait(vkl_device *device, vkl_cmd *const *cmds, uint32_t count, VkFence fence)
{
    VkCommandBuffer buffers[256];
    if (count == 0 || count > 256) return VKL_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < count; i++) buffers[i] = cmds[i]->buffer;
    VkSubmitInfo submit = { VK_STRUCTURE_TYPE_SUBMIT_INFO };
    submit.commandBufferCount = count;
    submit.pCommandBuffers = buffers;
    VK_CHECK(vkQueueSubmit(device->queue, 1, &submit, fence));
    VK_CHECK(vkWaitForFences(device->device, 1, &fence, VK_TRUE, UINT64_MAX));
    VK_CHECK(vkResetFences(device->device, 1, &fence));
    return VKL_OK;
}

static vkl_status read_ticks(vkl_cmd *cmd, uint32_t query, uint64_t *ticks)
{
    if (!cmd->query_pool || query >= cmd->timestamps) return VKL_ERR_INVALID_ARG;
    VK_CHECK(vkGetQueryPoolResults(cmd->device->device, cmd->query_pool, query, 1, sizeof *ticks, ticks, sizeof *ticks,
                                   VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
    return VKL_OK;
}

vkl_status vkl_cmds_elapsed_ns(vkl_cmd *first_cmd, uint32_t first, vkl_cmd *last_cmd, uint32_t last, double *ns)
{
    uint64_t ticks[2];
    VKL_TRY(read_ticks(first_cmd, first, &ticks[0]));
    VKL_TRY(read_ticks(last_cmd, last, &ticks[1]));
    uint32_t bits = first_cmd->device->timestamp_valid_bits;
    uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    *ns = (double)((ticks[1] - ticks[0]) & mask) * first_cmd->device->info->timestamp_period_ns;
    return VKL_OK;
}

vkl_status vkl_cmd_elapsed_ns(vkl_cmd *cmd, uint32_t first, uint32_t last, double *ns)
{
    return vkl_cmds_elapsed_ns(cmd, first, cmd, last, ns);
}

// A copy from src, or a fill of dst with zeros when src is NULL.
static vkl_status record_copy(VkCommandBuffer buffer, const vkl_buffer *src, VkDeviceSize src_offset,
                              vkl_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize size)
{
    VkCommandBufferBeginInfo begin = { VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    VK_CHECK(vkBeginCommandBuffer(buffer, &begin));
    // Earlier shader work on either buffer must finish before the copy touches it.
    memory_barrier(buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferCopy region = { src_offset, dst_offset, size };
    if (src) vkCmdCopyBuffer(buffer, src->buffer, dst->buffer, 1, &region);
    else vkCmdFillBuffer(buffer, dst->buffer, dst_offset, size, 0);
    // And the copy's writes must reach later shaders and the host.
    memory_barrier(buffer, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT);
    VK_CHECK(vkEndCommandBuffer(buffer));
    return VKL_OK;
}

vkl_status vkl_copy_buffer_now(vkl_device *device, const vkl_buffer *src, VkDeviceSize src_offset,
                               vkl_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize size)
{
    vkl_cmd *cmd;
    vkl_cmd_desc desc = { .max_dispatches = 1, .max_timestamps = 1 };
    VKL_TRY(vkl_cmd_create(device, &desc, &cmd));
    vkl_status status = record_copy(cmd->buffer, src, src_offset, dst, dst_offset, size);
    if (status == VKL_OK) status = submit_and_wait(device, cmd->buffer, cmd->fence);
    vkl_cmd_destroy(cmd);
    return status;
}

vkl_status vkl_zero_buffer_now(vkl_device *device, vkl_buffer *dst)
{
    vkl_cmd *cmd;
    vkl_cmd_desc desc = { .max_dispatches = 1, .max_timestamps = 1 };
    VKL_TRY(vkl_cmd_create(device, &desc, &cmd));
    vkl_status status = record_copy(cmd->buffer, NULL, 0, dst, 0, VK_WHOLE_SIZE);
    if (status == VKL_OK) status = submit_and_wait(device, cmd->buffer, cmd->fence);
    vkl_cmd_destroy(cmd);
    return status;
}
