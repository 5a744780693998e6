// Compute pipelines built from embedded SPIR-V: storage buffers (or, where texel_mask says,
// read-only RGBA32UI storage texel buffers) at bindings 0..n-1 of set 0, one push-constant
// block, optional specialization constants 0..n-1.
#ifndef VKLLM_PIPELINE_H
#define VKLLM_PIPELINE_H

#include "runtime/context.h"

#define VKL_MAX_BINDINGS 12  // attn_qkv binds 10
#define VKL_MAX_SPEC_CONSTANTS 8

typedef struct vkl_pipeline_desc {
    const char *shader;                             // embedded module, "<shader>.<variant>"
    uint32_t binding_count;                         // storage buffers at bindings 0..count-1
    uint32_t texel_mask;                            // bit i: binding i is a storage texel buffer
    uint32_t push_size;                             // bytes, multiple of 4
    uint32_t spec_count;                            // 32-bit constants with constant_id 0..count-1
    uint32_t spec_values[VKL_MAX_SPEC_CONSTANTS];
} vkl_pipeline_desc;

typedef struct vkl_pipeline {
    const char *shader;
    uint32_t binding_count;
    uint32_t texel_mask;
    uint32_t push_size;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
} vkl_pipeline;

// Creates the pipeline through the device's pipeline cache.
vkl_status vkl_pipeline_create(vkl_device *device, const vkl_pipeline_desc *desc, vkl_pipeline *out);
void vkl_pipeline_destroy(vkl_device *device, vkl_pipeline *pipeline);

#endif
