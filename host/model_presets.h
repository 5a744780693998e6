// Real models' shapes (with their layer counts): the presets of `vkllm mkmodel` and the model
// suites of `vkllm bench`.
#ifndef VKLLM_MODEL_PRESETS_H
#define VKLLM_MODEL_PRESETS_H

#include <stddef.h>

#include "host/model.h"

typedef struct vkl_model_preset {
    const char *name;
    vkl_model_config config;
} vkl_model_preset;

extern const vkl_model_preset vkl_model_presets[];
extern const size_t vkl_model_preset_count;
// The preset called `name`, or NULL.
const vkl_model_preset *vkl_model_preset_find(const char *name);

#endif
