// vkllm devices: every Vulkan device with the capabilities vkllm cares about.
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/commands.h"

static const char *yes_no(bool v) { return v ? "yes" : "no"; }

static void print_heaps(const vkl_device_info *info)
{
    for (uint32_t h = 0; h < info->memory.memoryHeapCount; h++) {
        const VkMemoryHeap *heap = &info->memory.memoryHeaps[h];
        bool host_visible_local = false;
        for (uint32_t t = 0; t < info->memory.memoryTypeCount; t++) {
            VkMemoryPropertyFlags f = info->memory.memoryTypes[t].propertyFlags;
            if (info->memory.memoryTypes[t].heapIndex == h && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
                (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
                host_visible_local = true;
        }
        printf("  memory heap %u      %.2f GiB%s%s\n", h, (double)heap->size / (1u << 30),
               heap->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT ? ", device-local" : ", host",
               host_visible_local ? ", host-visible" : "");
    }
}

static void print_device(const vkl_device_info *info, bool is_default)
{
    printf("device %u: %s%s\n", info->index, info->name, is_default ? "  [default]" : "");
    printf("  vendor             %s (0x%04x), device id 0x%04x\n", info->vendor, info->vendor_id, info->device_id);
    printf("  type               %s\n", vkl_device_type_name(info->type));
    printf("  api version        %u.%u.%u\n", VK_API_VERSION_MAJOR(info->api_version),
           VK_API_VERSION_MINOR(info->api_version), VK_API_VERSION_PATCH(info->api_version));
    if (!info->usable) {
        printf("  unusable           %s\n", info->unusable_reason);
        return;
    }
    printf("  driver             %s, version %s (%s)\n", info->driver_name[0] ? info->driver_name : "unknown",
           info->driver_version, info->driver_info[0] ? info->driver_info : "no driver info");
    printf("  subgroup size      %u", info->subgroup_size);
    if (info->subgroup_size_control) printf(" (size control: min %u, max %u)\n", info->subgroup_min, info->subgroup_max);
    else printf(" (no size control)\n");
    printf("  fp16 arithmetic    %s\n", yes_no(info->fp16));
    printf("  int8 arithmetic    %s\n", yes_no(info->int8));
    printf("  16-bit storage     %s\n", yes_no(info->storage16));
    printf("  8-bit storage      %s\n", yes_no(info->storage8));
    printf("  shared memory      %u bytes per workgroup\n", info->max_shared_memory);
    printf("  workgroup size     %u invocations, %u x %u x %u\n", info->max_workgroup_invocations,
           info->max_workgroup_size[0], info->max_workgroup_size[1], info->max_workgroup_size[2]);
    printf("  workgroup count    %u x %u x %u\n", info->max_workgroup_count[0], info->max_workgroup_count[1],
           info->max_workgroup_count[2]);
    printf("  storage buffers    max range %u bytes, offset alignment %llu\n", info->max_storage_buffer_range,
           (unsigned long long)info->storage_offset_alignment);
    if (info->texel_reads)
        printf("  texel buffers      RGBA32UI storage, max %u texels, offset alignment %llu\n",
               info->max_texel_buffer_elements, (unsigned long long)info->texel_offset_alignment);
    else printf("  texel buffers      no RGBA32UI storage texel buffers\n");
    printf("  large reads via    %s\n", vkl_device_prefers_texel_reads(info) ? "texel buffers" : "storage buffers");
    printf("  timestamp period   %g ns\n", info->timestamp_period_ns);
    print_heaps(info);
}

int cmd_devices(int argc, char **argv)
{
    cli_common common;
    if (!cli_common_init(&common)) return CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        int used = cli_common_parse(&common, argc, argv, &i);
        if (used < 0) return CLI_EXIT_USAGE;
        if (used) continue;
        if (!strcmp(argv[i], "--help")) {
            printf("usage: vkllm devices [--device N] [--vulkan-validation]\n"
                   "Lists every Vulkan device; [default] marks the one commands use without --device.\n");
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "vkllm: error: devices: unknown option '%s'\n", argv[i]);
        return CLI_EXIT_USAGE;
    }
    cli_session session;
    if (!cli_session_open(&common, false, &session)) return cli_session_close(&session, CLI_EXIT_FAIL);
    uint32_t chosen = UINT32_MAX;
    if (vkl_instance_pick_device(session.instance, common.device, &chosen) != VKL_OK) chosen = UINT32_MAX;
    if (session.instance->device_count == 0) printf("no Vulkan devices\n");
    for (uint32_t i = 0; i < session.instance->device_count; i++) {
        if (i) printf("\n");
        print_device(&session.instance->device_infos[i], i == chosen);
    }
    return cli_session_close(&session, chosen == UINT32_MAX ? CLI_EXIT_FAIL : CLI_EXIT_OK);
}
