// libFuzzer harness: a tokenizer file (llama2.c's, or a GGUF vocabulary: SentencePiece or
// byte-level BPE) and a text, both from the input (split at the first 0xFF byte): parsing,
// encoding (special tokens parsed when the text's length is odd) and decoding.
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/gguf.h"
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
    vkl_status status;
    if (file_size >= 4 && memcmp(data, "GGUF", 4) == 0) {
        vkl_gguf g;
        status = vkl_gguf_parse("fuzz.gguf", data, file_size, &g);
        if (status == VKL_OK) {
            status = vkl_tokenizer_load_gguf(&g, 0, &tok);
            vkl_gguf_free(&g);
        }
    } else {
        status = vkl_tokenizer_parse_llama2c("fuzz.tok", data, file_size, 0, &tok);
    }
    if (status == VKL_OK) {
        uint32_t *ids = NULL;
        unsigned flags = VKL_ENCODE_ADD_SPECIAL | (text_size % 2 ? VKL_ENCODE_PARSE_SPECIAL : 0u);
        if (vkl_tokenizer_encode(&tok, text, flags, &ids) == VKL_OK)
            for (size_t i = 1; i < arrlenu(ids); i++) (void)vkl_tokenizer_decode(&tok, ids[i - 1], ids[i]);
        arrfree(ids);
        vkl_tokenizer_free(&tok);
    }
    free(text);
    return 0;
}
