// `vkllm bench -m MODEL`: a model end to end in llama-bench's terms — prefill of -p tokens
// (pp) and decode of -n tokens (tg), -r repetitions.
#ifndef VKLLM_BENCH_MODEL_H
#define VKLLM_BENCH_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "host/model.h"
#include "host/peaks.h"

typedef struct bench_model_options {
    const char *path;
    uint32_t prompt, generate, repeats;
    bool profile;  // also time each dispatch of a decode step
} bench_model_options;

int bench_model(const bench_model_options *o, const vkl_model *model, vkl_device *device, const vkl_peaks *peaks);

#endif
