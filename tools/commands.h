// The subcommands of vkllm. Each takes its own argv (argv[0] is the command name).
#ifndef VKLLM_COMMANDS_H
#define VKLLM_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
