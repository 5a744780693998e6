#include "runtime/context.h"
#include "runtime/pipeline_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation";

// ---------------------------------------------------------------- validation messenger

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    vkl_instance *instance = user;
    instance->validation_messages++;
    const char *level = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning";
    fprintf(stderr, "vkllm: validation %s: %s\n", level, data->pMessage ? data->pMessage : "(no text)");
    return VK_FALSE;
}

static bool layer_available(const char *name)
{
    uint32_t count = 0;
    if (vkEnumerateInstanceLayerProperties(&count, NULL) != VK_SUCCESS) return false;
    VkLayerProperties *layers = calloc(count ? count : 1, sizeof *layers);
    if (!layers) return false;
    bool found = false;
    if (vkEnumerateInstanceLayerProperties(&count, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !found; i++) found = strcmp(layers[i].layerName, name) == 0;
    free(layers);
    return found;
}

static bool instance_extension_available(const char *layer, const char *name)
{
    uint32_t count = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &count, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *exts = calloc(count ? count : 1, sizeof *exts);
    if (!exts) return false;
    bool found = false;
    if (vkEnumerateInstanceExtensionProperties(layer, &count, exts) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !found; i++) found = strcmp(exts[i].extensionName, name) == 0;
    free(exts);
    return found;
}

// ---------------------------------------------------------------- device capabilities

static const char *vendor_name(uint32_t vendor_id)
{
    switch (vendor_id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "Imagination";
    case 0x106B: return "Apple";
    case 0x10005: return "Mesa";
    default: return "unknown";
    }
}

const char *vkl_device_type_name(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

// Vendors pack driverVersion differently; NVIDIA uses 10.8.8.6 bits, Intel on Windows 18.14.
static void format_driver_version(char *out, size_t size, uint32_t vendor_id, uint32_t v)
{
    if (vendor_id == 0x10DE)
        snprintf(out, size, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xFF, (v >> 6) & 0xFF, v & 0x3F);
    else
        snprintf(out, size, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                 VK_API_VERSION_PATCH(v));
}

static bool device_extension_available(VkPhysicalDevice physical, const char *name)
{
    uint32_t count = 0;
    if (vkEnumerateDeviceExtensionProperties(physical, NULL, &count, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *exts = calloc(count ? count : 1, sizeof *exts);
    if (!exts) return false;
    bool found = false;
    if (vkEnumerateDeviceExtensionProperties(physical, NULL, &count, exts) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !found; i++) found = strcmp(exts[i].extensionName, name) == 0;
    free(exts);
    return found;
}

static void query_properties(VkPhysicalDevice physical, vkl_device_info *info)
{
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(physical, &base);
    info->api_version = base.apiVersion;
    bool v12 = base.apiVersion >= VK_API_VERSION_1_2, v13 = base.apiVersion >= VK_API_VERSION_1_3;

    VkPhysicalDeviceProperties2 props = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 };
    VkPhysicalDeviceSubgroupProperties subgroup = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES };
    VkPhysicalDeviceSubgroupSizeControlProperties size_control = {
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES };
    VkPhysicalDeviceDriverProperties driver = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
    props.pNext = &subgroup;
    bool has_size_control = v13 || device_extension_available(physical, "VK_EXT_subgroup_size_control");
    bool has_driver = v12 || device_extension_available(physical, "VK_KHR_driver_properties");
    void **tail = &subgroup.pNext;
    if (has_size_control) { *tail = &size_control; tail = &size_control.pNext; }
    if (has_driver) { *tail = &driver; tail = &driver.pNext; }
    vkGetPhysicalDeviceProperties2(physical, &props);

    const VkPhysicalDeviceLimits *limits = &base.limits;
    snprintf(info->name, sizeof info->name, "%s", base.deviceName);
    info->vendor_id = base.vendorID;
    info->device_id = base.deviceID;
    info->vendor = vendor_name(base.vendorID);
    info->type = base.deviceType;
    if (has_driver) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
    }
    format_driver_version(info->driver_version, sizeof info->driver_version, base.vendorID,
                          base.driverVersion);
    info->subgroup_size = info->subgroup_min = info->subgroup_max = subgroup.subgroupSize;
    info->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    if (has_size_control && size_control.minSubgroupSize) {
        info->subgroup_size_control = true;
        info->subgroup_min = size_control.minSubgroupSize;
        info->subgroup_max = size_control.maxSubgroupSize;
    }
    info->max_shared_memory = limits->maxComputeSharedMemorySize;
    memcpy(info->max_workgroup_size, limits->maxComputeWorkGroupSize, sizeof info->max_workgroup_size);
    memcpy(info->max_workgroup_count, limits->maxComputeWorkGroupCount, sizeof info->max_workgroup_count);
    info->max_workgroup_invocations = limits->maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = limits->maxStorageBufferRange;
    info->max_push_constants = limits->maxPushConstantsSize;
    info->storage_offset_alignment = limits->minStorageBufferOffsetAlignment;
    info->max_texel_buffer_elements = limits->maxTexelBufferElements;
    info->texel_offset_alignment = limits->minTexelBufferOffsetAlignment;
    VkFormatProperties format;  // mandatory for this format, but checked rather than assumed
    vkGetPhysicalDeviceFormatProperties(physical, VK_FORMAT_R32G32B32A32_UINT, &format);
    info->texel_reads = (format.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) != 0;
    info->timestamp_period_ns = limits->timestampPeriod;
    memcpy(info->pipeline_cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);
}

static void query_features(VkPhysicalDevice physical, vkl_device_info *info)
{
    bool v12 = info->api_version >= VK_API_VERSION_1_2;
    VkPhysicalDeviceFeatures2 features = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    VkPhysicalDevice16BitStorageFeatures storage16 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES };
    VkPhysicalDevice8BitStorageFeatures storage8 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES };
    VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES };
    features.pNext = &storage16;  // core in Vulkan 1.1
    void **tail = &storage16.pNext;
    if (v12 || device_extension_available(physical, "VK_KHR_8bit_storage")) { *tail = &storage8; tail = &storage8.pNext; }
    if (v12 || device_extension_available(physical, "VK_KHR_shader_float16_int8")) { *tail = &f16i8; tail = &f16i8.pNext; }
    vkGetPhysicalDeviceFeatures2(physical, &features);
    info->storage16 = storage16.storageBuffer16BitAccess;
    info->storage8 = storage8.storageBuffer8BitAccess;
    info->fp16 = f16i8.shaderFloat16;
    info->int8 = f16i8.shaderInt8;
    vkGetPhysicalDeviceMemoryProperties(physical, &info->memory);
}

static void query_device_info(VkPhysicalDevice physical, uint32_t index, vkl_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(physical, &base);
    if (base.apiVersion < VK_API_VERSION_1_1) {
        snprintf(info->name, sizeof info->name, "%s", base.deviceName);
        info->vendor = vendor_name(base.vendorID);
        info->type = base.deviceType;
        info->api_version = base.apiVersion;
        info->unusable_reason = "Vulkan 1.1 is required";
        return;
    }
    query_properties(physical, info);
    query_features(physical, info);
    info->usable = info->subgroup_arithmetic;
    if (!info->usable) info->unusable_reason = "no subgroup arithmetic in compute shaders";
}

// ---------------------------------------------------------------- instance

static vkl_status create_vk_instance(vkl_instance *instance, const vkl_instance_desc *desc)
{
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion) VK_CHECK(vkEnumerateInstanceVersion(&loader_version));
    if (loader_version < VK_API_VERSION_1_1) {
        vkl_log_error("the Vulkan loader supports only %u.%u; vkllm needs 1.1",
                      VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
        return VKL_ERR_UNSUPPORTED;
    }
    VkApplicationInfo app = { VK_STRUCTURE_TYPE_APPLICATION_INFO };
    app.pApplicationName = "vkllm";
    app.pEngineName = "vkllm";
    app.apiVersion = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader_version;

    const char *extensions[3];
    const char *layers[1];
    uint32_t n_ext = 0, n_layers = 0;
    VkInstanceCreateInfo info = { VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO };
    if (instance_extension_available(NULL, "VK_KHR_portability_enumeration")) {
        extensions[n_ext++] = "VK_KHR_portability_enumeration";
        info.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    VkValidationFeatureEnableEXT enables[] = { VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT };
    VkValidationFeaturesEXT features = { VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT };
    VkDebugUtilsMessengerCreateInfoEXT messenger = { VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT };
    if (desc->validate) {
        if (!layer_available(VALIDATION_LAYER)) {
            vkl_log_error("validation requested but %s is not installed (Debian: vulkan-validationlayers)",
                          VALIDATION_LAYER);
            return VKL_ERR_UNSUPPORTED;
        }
        layers[n_layers++] = VALIDATION_LAYER;
        extensions[n_ext++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        messenger.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                    VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        messenger.pfnUserCallback = on_debug_message;
        messenger.pUserData = instance;
        info.pNext = &messenger;  // also catches messages from instance creation itself
        if (instance_extension_available(VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
            extensions[n_ext++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
            features.enabledValidationFeatureCount = 1;
            features.pEnabledValidationFeatures = enables;
            messenger.pNext = &features;
        }
    }
    info.pApplicationInfo = &app;
    info.enabledExtensionCount = n_ext;
    info.ppEnabledExtensionNames = extensions;
    info.enabledLayerCount = n_layers;
    info.ppEnabledLayerNames = layers;
    VkResult result = vkCreateInstance(&info, NULL, &instance->instance);
    if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
        vkl_log_error("vkCreateInstance found no Vulkan driver (VK_ERROR_INCOMPATIBLE_DRIVER): install one, "
                      "e.g. Debian's mesa-vulkan-drivers for lavapipe, or point VK_DRIVER_FILES at an ICD json");
        return VKL_ERR_NO_DEVICE;
    }
    VK_CHECK(result);
    volkLoadInstance(instance->instance);
    if (desc->validate) {
        messenger.pNext = NULL;  // the validation features belong to instance creation only
        VK_CHECK(vkCreateDebugUtilsMessengerEXT(instance->instance, &messenger, NULL, &instance->messenger));
    }
    return VKL_OK;
}

static vkl_status enumerate_devices(vkl_instance *instance)
{
    uint32_t count = 0;
    VK_CHECK(vkEnumeratePhysicalDevices(instance->instance, &count, NULL));
    instance->physical_devices = calloc(count ? count : 1, sizeof *instance->physical_devices);
    instance->device_infos = calloc(count ? count : 1, sizeof *instance->device_infos);
    if (!instance->physical_devices || !instance->device_infos) return VKL_ERR_OUT_OF_MEMORY;
    VK_CHECK(vkEnumeratePhysicalDevices(instance->instance, &count, instance->physical_devices));
    instance->device_count = count;
    for (uint32_t i = 0; i < count; i++)
        query_device_info(instance->physical_devices[i], i, &instance->device_infos[i]);
    return VKL_OK;
}

// llvmpipe hands each dispatch to its worker threads and waits for them: on the 2-core dev VM
// an empty dispatch took 27-49 us that way and 1 us with LP_NUM_THREADS=0, which runs it on the
// driver's queue thread. Small models pay that hand-off dozens of times per token; large ones
// need every core. A value the user set wins.
static bool request_inline_dispatch(void)
{
    if (getenv("LP_NUM_THREADS")) return false;
    return setenv("LP_NUM_THREADS", "0", 0) == 0;
}

vkl_status vkl_instance_create(const vkl_instance_desc *desc, vkl_instance **out)
{
    static const vkl_instance_desc defaults = { 0 };
    if (!desc) desc = &defaults;
    *out = NULL;
    if (volkInitialize() != VK_SUCCESS) {
        vkl_log_error("no Vulkan loader found (Debian: libvulkan1 and a driver such as mesa-vulkan-drivers)");
        return VKL_ERR_NO_DEVICE;
    }
    vkl_instance *instance = calloc(1, sizeof *instance);
    if (!instance) return VKL_ERR_OUT_OF_MEMORY;
    instance->cpu_inline_dispatch = desc->cpu_inline_dispatch && request_inline_dispatch();
    vkl_status status = create_vk_instance(instance, desc);
    if (status == VKL_OK) status = enumerate_devices(instance);
    if (status != VKL_OK) {
        vkl_instance_destroy(instance);
        return status;
    }
    *out = instance;
    return VKL_OK;
}

void vkl_instance_destroy(vkl_instance *instance)
{
    if (!instance) return;
    if (instance->messenger) vkDestroyDebugUtilsMessengerEXT(instance->instance, instance->messenger, NULL);
    if (instance->instance) vkDestroyInstance(instance->instance, NULL);
    free(instance->physical_devices);
    free(instance->device_infos);
    free(instance);
}

static int device_type_rank(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 4;
    default: return 3;
    }
}

vkl_status vkl_instance_pick_device(const vkl_instance *instance, int requested, uint32_t *index)
{
    if (requested >= 0) {
        if ((uint32_t)requested >= instance->device_count) {
            vkl_log_error("device %d does not exist: %u device(s), numbered from 0 (see `vkllm devices`)",
                          requested, instance->device_count);
            return VKL_ERR_INVALID_ARG;
        }
        const vkl_device_info *info = &instance->device_infos[requested];
        if (!info->usable) {
            vkl_log_error("device %d (%s) cannot run vkllm: %s", requested, info->name, info->unusable_reason);
            return VKL_ERR_UNSUPPORTED;
        }
        *index = (uint32_t)requested;
        return VKL_OK;
    }
    int best = -1;
    for (uint32_t i = 0; i < instance->device_count; i++) {
        const vkl_device_info *info = &instance->device_infos[i];
        if (!info->usable) continue;
        if (best < 0 || device_type_rank(info->type) < device_type_rank(instance->device_infos[best].type))
            best = (int)i;
    }
    if (best < 0) {
        vkl_log_error("no usable Vulkan device among %u (see `vkllm devices`)", instance->device_count);
        return VKL_ERR_NO_DEVICE;
    }
    *index = (uint32_t)best;
    return VKL_OK;
}

// ---------------------------------------------------------------- logical device

static vkl_status pick_compute_queue(vkl_device *device)
{
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(device->physical, &count, NULL);
    VkQueueFamilyProperties *families = calloc(count ? count : 1, sizeof *families);
    if (!families) return VKL_ERR_OUT_OF_MEMORY;
    vkGetPhysicalDeviceQueueFamilyProperties(device->physical, &count, families);
    int best = -1;
    for (uint32_t i = 0; i < count; i++) {
        if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        // A compute family with timestamps is preferred; the first such keeps the usual choice.
        if (best < 0 || (families[best].timestampValidBits == 0 && families[i].timestampValidBits))
            best = (int)i;
    }
    if (best >= 0) {
        device->queue_family = (uint32_t)best;
        device->timestamp_valid_bits = families[best].timestampValidBits;
    }
    free(families);
    if (best < 0) {
        vkl_log_error("device %s has no compute queue", device->info->name);
        return VKL_ERR_UNSUPPORTED;
    }
    return VKL_OK;
}

static vkl_status create_logical_device(vkl_device *device)
{
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = { VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO };
    queue.queueFamilyIndex = device->queue_family;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    VkDeviceCreateInfo info = { VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO };
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    // f16 arithmetic (the f16 FMA peak of `vkllm bench`) where the device has it: core in
    // Vulkan 1.2, else through its extension.
    VkPhysicalDeviceShaderFloat16Int8Features f16 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES };
    const char *f16_extension = "VK_KHR_shader_float16_int8";
    if (device->info->fp16) {
        f16.shaderFloat16 = VK_TRUE;
        info.pNext = &f16;
        if (device->info->api_version < VK_API_VERSION_1_2) {
            info.enabledExtensionCount = 1;
            info.ppEnabledExtensionNames = &f16_extension;
        }
    }
    VK_CHECK(vkCreateDevice(device->physical, &info, NULL, &device->device));
    volkLoadDevice(device->device);
    vkGetDeviceQueue(device->device, device->queue_family, 0, &device->queue);
    VkCommandPoolCreateInfo pool = { VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO };
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = device->queue_family;
    VK_CHECK(vkCreateCommandPool(device->device, &pool, NULL, &device->command_pool));
    return VKL_OK;
}

vkl_status vkl_device_create(vkl_instance *instance, const vkl_device_desc *desc, vkl_device **out)
{
    *out = NULL;
    if (desc->index < 0 || (uint32_t)desc->index >= instance->device_count) return VKL_ERR_INVALID_ARG;
    vkl_device *device = calloc(1, sizeof *device);
    if (!device) return VKL_ERR_OUT_OF_MEMORY;
    device->instance = instance;
    device->info = &instance->device_infos[desc->index];
    device->physical = instance->physical_devices[desc->index];
    vkl_status status = pick_compute_queue(device);
    if (status == VKL_OK) status = create_logical_device(device);
    if (status == VKL_OK) status = vkl_pipeline_cache_open(device, !desc->no_pipeline_cache);
    if (status != VKL_OK) {
        vkl_device_destroy(device);
        return status;
    }
    *out = device;
    return VKL_OK;
}

void vkl_device_destroy(vkl_device *device)
{
    if (!device) return;
    if (device->device) {
        vkDeviceWaitIdle(device->device);
        vkl_pipeline_cache_close(device);
        if (device->command_pool) vkDestroyCommandPool(device->device, device->command_pool, NULL);
        vkDestroyDevice(device->device, NULL);
    }
    free(device);
}

bool vkl_device_prefers_texel_reads(const vkl_device_info *info)
{
    if (!info->texel_reads) return false;
    const char *path = getenv("VKLLM_READ_PATH");
    if (path && strcmp(path, "texel") == 0) return true;
    if (path && strcmp(path, "storage") == 0) return false;
    return info->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
}
