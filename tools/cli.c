#include "tools/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cli_parse_u64(const char *what, const char *text, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = text && text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!text || !end || *end || errno || v > max) {
        fprintf(stderr, "vkllm: error: %s: '%s' is not an integer in 0..%llu\n", what, text ? text : "",
                (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool cli_common_init(cli_common *common)
{
    *common = (cli_common){ .device = -1 };
    const char *device = getenv("VKLLM_DEVICE"), *validate = getenv("VKLLM_VALIDATE");
    uint64_t v;
    if (device && device[0]) {
        if (!cli_parse_u64("VKLLM_DEVICE", device, 1023, &v)) return false;
        common->device = (int)v;
    }
    if (validate && validate[0]) {
        if (strcmp(validate, "0") && strcmp(validate, "1")) {
            fprintf(stderr, "vkllm: error: VKLLM_VALIDATE: '%s' is not 0 or 1\n", validate);
            return false;
        }
        common->validate = validate[0] == '1';
    }
    const char *read_path = getenv("VKLLM_READ_PATH");  // read by vkl_device_prefers_texel_reads
    if (read_path && read_path[0] && strcmp(read_path, "texel") && strcmp(read_path, "storage")) {
        fprintf(stderr, "vkllm: error: VKLLM_READ_PATH: '%s' is not texel or storage\n", read_path);
        return false;
    }
    return true;
}

const char *cli_option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "vkllm: error: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_common_parse(cli_common *common, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--vulkan-validation") == 0) {
        common->validate = true;
        return 1;
    }
    if (strcmp(arg, "--no-pipeline-cache") == 0) {
        common->no_pipeline_cache = true;
        return 1;
    }
    if (strcmp(arg, "--device") == 0 || strcmp(arg, "-d") == 0) {
        const char *value = cli_option_value(argc, argv, i);
        uint64_t v;
        if (!value || !cli_parse_u64("--device", value, 1023, &v)) return -1;
        common->device = (int)v;
        return 1;
    }
    return 0;
}

bool cli_session_open(const cli_common *common, bool with_device, cli_session *session)
{
    *session = (cli_session){ 0 };
    vkl_instance_desc desc = { .validate = common->validate, .cpu_inline_dispatch = common->cpu_inline_dispatch };
    if (vkl_instance_create(&desc, &session->instance) != VKL_OK) return false;
    if (!with_device) return true;
    uint32_t index;
    if (vkl_instance_pick_device(session->instance, common->device, &index) != VKL_OK) return false;
    vkl_device_desc device_desc = { .index = (int)index, .no_pipeline_cache = common->no_pipeline_cache };
    vkl_status status = vkl_device_create(session->instance, &device_desc, &session->device);
    if (status != VKL_OK) {
        fprintf(stderr, "vkllm: error: cannot open device %u: %s\n", index, vkl_status_string(status));
        return false;
    }
    if (session->instance->cpu_inline_dispatch && session->device->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU)
        fprintf(stderr, "vkllm: note: %s runs each dispatch on one thread (LP_NUM_THREADS=0): this model's layers "
                "are too small to pay for worker threads; set LP_NUM_THREADS to choose\n", session->device->info->name);
    return true;
}

int cli_session_close(cli_session *session, int code)
{
    vkl_device_destroy(session->device);
    uint32_t messages = session->instance ? session->instance->validation_messages : 0;
    vkl_instance_destroy(session->instance);
    *session = (cli_session){ 0 };
    if (messages) {
        fprintf(stderr, "vkllm: error: %u validation message(s)\n", messages);
        return CLI_EXIT_FAIL;
    }
    return code;
}

