#include "runtime/pipeline.h"
#include "runtime/spirv.h"

#include <string.h>

static vkl_status check_desc(const vkl_device *device, const vkl_pipeline_desc *desc)
{
    if (!vkl_spirv_find(desc->shader)) {
        vkl_log_error("no embedded shader module named '%s'", desc->shader);
        return VKL_ERR_INVALID_ARG;
    }
    if (desc->binding_count > VKL_MAX_BINDINGS || desc->spec_count > VKL_MAX_SPEC_CONSTANTS ||
        desc->push_size % 4 != 0) {
        vkl_log_error("pipeline %s: bad layout (bindings %u, spec constants %u, push %u bytes)",
                      desc->shader, desc->binding_count, desc->spec_count, desc->push_size);
        return VKL_ERR_INVALID_ARG;
    }
    if (desc->texel_mask && !device->info->texel_reads) {
        vkl_log_error("pipeline %s: the device has no RGBA32UI storage texel buffers", desc->shader);
        return VKL_ERR_UNSUPPORTED;
    }
    if (desc->push_size > device->info->max_push_constants) {
        vkl_log_error("pipeline %s: %u bytes of push constants exceed the device's %u", desc->shader,
                      desc->push_size, device->info->max_push_constants);
        return VKL_ERR_UNSUPPORTED;
    }
    return VKL_OK;
}

static vkl_status create_layouts(vkl_device *device, const vkl_pipeline_desc *desc, vkl_pipeline *out)
{
    VkDescriptorSetLayoutBinding bindings[VKL_MAX_BINDINGS];
    for (uint32_t i = 0; i < desc->binding_count; i++) {
        bindings[i] = (VkDescriptorSetLayoutBinding){ 0 };
        bindings[i].binding = i;
        bindings[i].descriptorType = desc->texel_mask >> i & 1u ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                                                : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo set_info = { VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO };
    set_info.bindingCount = desc->binding_count;
    set_info.pBindings = bindings;
    VK_CHECK(vkCreateDescriptorSetLayout(device->device, &set_info, NULL, &out->set_layout));
    VkPushConstantRange push = { VK_SHADER_STAGE_COMPUTE_BIT, 0, desc->push_size };
    VkPipelineLayoutCreateInfo layout_info = { VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO };
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &out->set_layout;
    layout_info.pushConstantRangeCount = desc->push_size ? 1 : 0;
    layout_info.pPushConstantRanges = &push;
    VK_CHECK(vkCreatePipelineLayout(device->device, &layout_info, NULL, &out->layout));
    return VKL_OK;
}

static vkl_status create_compute_pipeline(vkl_device *device, const vkl_pipeline_desc *desc,
                                          vkl_pipeline *out)
{
    const vkl_spirv_module *module = vkl_spirv_find(desc->shader);
    VkShaderModuleCreateInfo module_info = { VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO };
    module_info.codeSize = module->size;
    module_info.pCode = module->code;
    VkShaderModule shader;
    VK_CHECK(vkCreateShaderModule(device->device, &module_info, NULL, &shader));

    VkSpecializationMapEntry entries[VKL_MAX_SPEC_CONSTANTS];
    for (uint32_t i = 0; i < desc->spec_count; i++)
        entries[i] = (VkSpecializationMapEntry){ i, i * 4, 4 };
    VkSpecializationInfo spec = { desc->spec_count, entries, desc->spec_count * 4, desc->spec_values };
    VkComputePipelineCreateInfo info = { VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO };
    info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = shader;
    info.stage.pName = "main";
    info.stage.pSpecializationInfo = desc->spec_count ? &spec : NULL;
    info.layout = out->layout;
    VkResult result = vkCreateComputePipelines(device->device, device->pipeline_cache, 1, &info, NULL,
                                               &out->pipeline);
    vkDestroyShaderModule(device->device, shader, NULL);
    if (result != VK_SUCCESS) {
        vkl_log_error("vkCreateComputePipelines(%s) failed: %s", desc->shader, vkl_vk_result_name(result));
        return VKL_ERR_VULKAN;
    }
    return VKL_OK;
}

vkl_status vkl_pipeline_create(vkl_device *device, const vkl_pipeline_desc *desc, vkl_pipeline *out)
{
    memset(out, 0, sizeof *out);
    VKL_TRY(check_desc(device, desc));
    out->shader = desc->shader;
    out->binding_count = desc->binding_count;
    out->texel_mask = desc->texel_mask;
    out->push_size = desc->push_size;
    vkl_status status = create_layouts(device, desc, out);
    if (status == VKL_OK) status = create_compute_pipeline(device, desc, out);
    if (status != VKL_OK) vkl_pipeline_destroy(device, out);
    return status;
}

void vkl_pipeline_destroy(vkl_device *device, vkl_pipeline *pipeline)
{
    if (pipeline->pipeline) vkDestroyPipeline(device->device, pipeline->pipeline, NULL);
    if (pipeline->layout) vkDestroyPipelineLayout(device->device, pipeline->layout, NULL);
    if (pipeline->set_layout) vkDestroyDescriptorSetLayout(device->device, pipeline->set_layout, NULL);
    memset(pipeline, 0, sizeof *pipeline);
}
