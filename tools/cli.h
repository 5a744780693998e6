// Shared pieces of the vkllm subcommands: options every command takes, number parsing, and
// opening the instance and device.
#ifndef VKLLM_CLI_H
#define VKLLM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/context.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_common {
    int device;              // -1: choose automatically
    bool validate;           // --vulkan-validation or VKLLM_VALIDATE=1
    bool no_pipeline_cache;
    bool cpu_inline_dispatch;  // set by model commands for small models: vkl_model_prefers_inline_dispatch
} cli_common;

typedef struct cli_session {
    vkl_instance *instance;
    vkl_device *device;      // NULL for commands that need none
} cli_session;

// Defaults from the environment (VKLLM_DEVICE, VKLLM_VALIDATE); false on a bad value.
bool cli_common_init(cli_common *common);
// If argv[*i] is a common option, consumes it (and its value) and returns 1; returns 0 if it is
// not one, -1 on a bad value (message printed).
int cli_common_parse(cli_common *common, int argc, char **argv, int *i);
// Parses a whole decimal number in [0, max]; prints an error naming `what` on failure.
bool cli_parse_u64(const char *what, const char *text, uint64_t max, uint64_t *out);
// Fetches the value of option argv[*i]; prints an error if it is missing.
const char *cli_option_value(int argc, char **argv, int *i);

// Creates the instance and, if `with_device`, the chosen device. Prints errors.
bool cli_session_open(const cli_common *common, bool with_device, cli_session *session);
// Destroys what was opened. Returns CLI_EXIT_FAIL if validation reported any message, else `code`.
int cli_session_close(cli_session *session, int code);

#endif
