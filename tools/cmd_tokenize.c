// vkllm tokenize: the token ids of a text, as the run command encodes prompts.
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/model.h"
#include "host/tokenizer.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: vkllm tokenize -z TOKENIZER [--bos] [-p TEXT | --stdin]\n"
    "Prints the token ids of TEXT, space-separated. TOKENIZER is a GGUF file (its tokenizer.ggml.*;\n"
    "vocabulary-only files work) or a llama2.c tokenizer.bin.\n";

static vkl_status load_tokenizer(const char *path, vkl_tokenizer *t)
{
    void *data;
    uint64_t size;
    VKL_TRY(vkl_read_file(path, 1ull << 32, &data, &size));
    vkl_status status;
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) {
        vkl_gguf g;
        status = vkl_gguf_parse(path, data, size, &g);
        if (status == VKL_OK) {
            status = vkl_tokenizer_load_gguf(&g, 0, t);
            vkl_gguf_free(&g);
        }
    } else {
        status = vkl_tokenizer_load_llama2c(path, 0, t);
    }
    free(data);
    return status;
}

// Reads all of stdin into an stb_ds string.
static char *read_stdin(void)
{
    char *text = NULL, chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) memcpy(arraddnptr(text, n), chunk, n);
    arrput(text, 0);
    return text;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    bool bos = false, from_stdin = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { fputs(USAGE, stdout); return CLI_EXIT_OK; }
        else if (!strcmp(argv[i], "--bos")) bos = true;
        else if (!strcmp(argv[i], "--stdin")) from_stdin = true;
        else if (!strcmp(argv[i], "-z") || !strcmp(argv[i], "-p")) {
            const char *v = cli_option_value(argc, argv, &i);
            if (!v) return CLI_EXIT_USAGE;
            if (argv[i - 1][1] == 'z') path = v;
            else text = v;
        } else {
            fprintf(stderr, "vkllm: error: tokenize: unknown option '%s'\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path || (!text && !from_stdin)) {
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
    }
    vkl_tokenizer t;
    if (load_tokenizer(path, &t) != VKL_OK) return CLI_EXIT_FAIL;
    char *input = from_stdin ? read_stdin() : NULL;
    uint32_t *ids = NULL;
    int code = vkl_tokenizer_encode(&t, input ? input : text, bos, &ids) == VKL_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    for (ptrdiff_t i = 0; i < arrlen(ids); i++) printf("%s%u", i ? " " : "", ids[i]);
    printf("\n");
    arrfree(ids);
    arrfree(input);
    vkl_tokenizer_free(&t);
    return code;
}
