// libFuzzer harness: a llama2.c tokenizer file and a text, both from the input (split at the
// first 0xFF byte): parsing, BPE encoding and decoding.
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *split = memchr(data, 0xFF, size);
    size_t file_size = split ? (size_t)(split - data) : size;
    size_t text_size = split ? size - file_size - 1 : 0;
    char *text = malloc(text_size + 1);
    if (!text) return 0;
    memcpy(text, data + size - text_size, text_size);
    text[text_size] = 0;
    vkl_tokenizer tok;
    if (vkl_tokenizer_parse_llama2c("fuzz.tok", data, file_size, 0, &tok) == VKL_OK) {
        uint32_t *ids = NULL;
        if (vkl_tokenizer_encode(&tok, text, VKL_ENCODE_ADD_SPECIAL, &ids) == VKL_OK)
            for (size_t i = 1; i < arrlenu(ids); i++) (void)vkl_tokenizer_decode(&tok, ids[i - 1], ids[i]);
        arrfree(ids);
        vkl_tokenizer_free(&tok);
    }
    free(text);
    return 0;
}
