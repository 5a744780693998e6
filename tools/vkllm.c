// vkllm: one command-line tool for every job.
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} COMMANDS[] = {
    { "devices", cmd_devices, "list Vulkan devices and their capabilities" },
    { "check", cmd_check, "check every kernel against the CPU reference" },
    { "tokenize", cmd_tokenize, "print the token ids of a text" },
    { "mkmodel", cmd_mkmodel, "write a GGUF model with seeded random weights" },
    { "quantize", cmd_quantize, "rewrite a GGUF model's tensors in another weight format or mix" },
    { "run", cmd_run, "generate text from a model" },
    { "bench", cmd_bench, "benchmark every kernel against the device's roofline, or a model" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vkllm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\noptions of every command:\n"
                 "  --device N, -d N     use device N from `vkllm devices` (env VKLLM_DEVICE);\n"
                 "                       default: a GPU, else the CPU device\n"
                 "  --vulkan-validation  enable VK_LAYER_KHRONOS_validation with synchronization\n"
                 "                       validation; any message makes the command fail\n"
                 "                       (env VKLLM_VALIDATE=1)\n"
                 "  --no-pipeline-cache  neither read nor write the on-disk pipeline cache\n"
                 "\n`vkllm <command> --help` describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vkllm %s\n", VKLLM_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vkllm: error: unknown command '%s' (see `vkllm help`)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
