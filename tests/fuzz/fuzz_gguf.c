// libFuzzer harness: GGUF model loading (header, metadata, tensor infos, llama config, tensors)
// and its tokenizer, then encoding and decoding a short text with it.
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/formats.h"
#include "host/model.h"
#include "host/tokenizer.h"

// The first blocks of every tensor through its format: dequantized, and repacked into the device
// layout and back, which must give the same bytes (fuzzed scales may be NaN or infinite: only
// arithmetic on them, never a conversion to an integer).
static void exercise_formats(const vkl_model *model)
{
    enum { MAX_VALUES = 1024 };
    static float values[MAX_VALUES];
    static uint8_t device[MAX_VALUES * 4 + 64], file[MAX_VALUES * 4];
    for (ptrdiff_t i = 0; i < arrlen(model->tensors); i++) {
        const vkl_model_tensor *t = &model->tensors[i];
        const vkl_format *f = vkl_format_of(t->dtype);
        uint64_t count = t->count < MAX_VALUES ? t->count : MAX_VALUES, bytes;
        count -= count % f->block;
        if (!count || !vkl_format_file_bytes(f, count, &bytes)) continue;
        vkl_format_dequantize(f, t->data, count, values);
        vkl_format_repack(f, t->data, count, device);
        vkl_format_unpack(f, device, count, file);
        if (memcmp(file, t->data, bytes) != 0) abort();  // a layout bug, not bad input
    }
}

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
        exercise_formats(&model);
        uint32_t *ids = NULL;
        if (vkl_tokenizer_encode(&tok, "Once upon a time \xe2\x96\x81\xc3\xa9 <s>", VKL_ENCODE_ADD_SPECIAL | VKL_ENCODE_PARSE_SPECIAL, &ids) == VKL_OK)
            for (size_t i = 1; i < arrlenu(ids); i++) (void)vkl_tokenizer_decode(&tok, ids[i - 1], ids[i]);
        arrfree(ids);
        vkl_tokenizer_free(&tok);
    }
    vkl_model_free(&model);
    return 0;
}
