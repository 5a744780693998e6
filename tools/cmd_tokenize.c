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
    "usage: vkllm tokenize -z TOKENIZER [--add-special] [--parse-special] [--decode] (-p TEXT | --stdin | --null)\n"
    "Prints the token ids of TEXT, space-separated. TOKENIZER is a GGUF file (its tokenizer.ggml.*;\n"
    "vocabulary-only files work) or a llama2.c tokenizer.bin.\n"
    "  --add-special    add BOS/EOS as the vocabulary asks (llama2.c's: BOS; --bos is the old name)\n"
    "  --parse-special  control tokens written in the text (\"<|im_start|>\") become those tokens,\n"
    "                   as `run` reads prompts\n"
    "  --stdin          the text is all of standard input\n"
    "  --null           standard input holds several texts, each ended by a NUL byte; a line of ids each\n"
    "  --decode         print the text the ids decode to (as `run` prints tokens) instead of the ids\n";

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

// Reads all of stdin into an stb_ds string, NUL-terminated.
static char *read_stdin(void)
{
    char *text = NULL, chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) memcpy(arraddnptr(text, n), chunk, n);
    arrput(text, 0);
    return text;
}

// Encodes `text` and prints its ids, or with `decode` the text they decode to, on one line.
static bool tokenize_one(vkl_tokenizer *t, const char *text, unsigned flags, bool decode)
{
    uint32_t *ids = NULL;
    bool ok = vkl_tokenizer_encode(t, text, flags, &ids) == VKL_OK;
    for (ptrdiff_t i = 0; ok && i < arrlen(ids); i++) {
        if (decode) fputs(vkl_tokenizer_decode(t, i ? ids[i - 1] : UINT32_MAX, ids[i]), stdout);
        else printf("%s%u", i ? " " : "", ids[i]);
    }
    printf("\n");
    arrfree(ids);
    return ok;
}

// Each NUL-ended text of `input` (size bytes, the last NUL added by read_stdin) on its own.
static bool tokenize_texts(vkl_tokenizer *t, const char *input, size_t size, unsigned flags, bool decode)
{
    bool ok = true;
    for (size_t at = 0; at + 1 < size && ok; at += strlen(input + at) + 1) ok = tokenize_one(t, input + at, flags, decode);
    return ok;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    unsigned flags = 0;
    bool from_stdin = false, texts = false, decode = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { fputs(USAGE, stdout); return CLI_EXIT_OK; }
        else if (!strcmp(argv[i], "--add-special") || !strcmp(argv[i], "--bos")) flags |= VKL_ENCODE_ADD_SPECIAL;
        else if (!strcmp(argv[i], "--parse-special")) flags |= VKL_ENCODE_PARSE_SPECIAL;
        else if (!strcmp(argv[i], "--stdin")) from_stdin = true;
        else if (!strcmp(argv[i], "--null")) from_stdin = texts = true;
        else if (!strcmp(argv[i], "--decode")) decode = true;
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
    size_t size = input ? (size_t)arrlen(input) : 0;
    bool ok;
    if (texts) ok = tokenize_texts(&t, input, size, flags, decode);
    else if (input && strlen(input) + 1 != size) {
        fprintf(stderr, "vkllm: error: tokenize: standard input has a NUL byte at %zu (--null separates texts with them)\n",
                strlen(input));
        ok = false;
    } else ok = tokenize_one(&t, input ? input : text, flags, decode);
    int code = ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    arrfree(input);
    vkl_tokenizer_free(&t);
    return code;
}
