// libFuzzer harness: GGUF model loading (header, metadata, tensor infos, llama config, tensors)
// and its tokenizer, then encoding and decoding a short text with it.
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/model.h"
#include "host/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkl_model model = { 0 };
    snprintf(model.path, sizeof model.path, "fuzz.gguf");
    model.file_data = malloc(size ? size : 1);
    if (!model.file_data) return 0;
    memcpy(model.file_data, data, size);
    model.file_size = size;
    vkl_tokenizer tok;
    if (vkl_gguf_model_load(&model, &tok) == VKL_OK) {
        uint32_t *ids = NULL;
        if (vkl_tokenizer_encode(&tok, "Once upon a time \xe2\x96\x81\xc3\xa9", true, &ids) == VKL_OK)
            for (size_t i = 1; i < arrlenu(ids); i++) (void)vkl_tokenizer_decode(&tok, ids[i - 1], ids[i]);
        arrfree(ids);
        vkl_tokenizer_free(&tok);
    }
    vkl_model_free(&model);
    return 0;
}
