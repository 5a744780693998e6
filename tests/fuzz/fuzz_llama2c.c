// libFuzzer harness: llama2.c checkpoint loading (header checks, tensor layout against the size).
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#include "host/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkl_model model = { 0 };
    snprintf(model.path, sizeof model.path, "fuzz.bin");
    model.file_data = malloc(size ? size : 1);
    if (!model.file_data) return 0;
    memcpy(model.file_data, data, size);
    model.file_size = size;
    if (vkl_llama2c_load(&model) == VKL_OK)
        for (size_t i = 0; i < arrlenu(model.tensors); i++) (void)((const volatile uint8_t *)model.tensors[i].data)[model.tensors[i].bytes - 1];
    vkl_model_free(&model);
    return 0;
}
