// Real models' shapes (with their layer counts): the presets of `vkllm mkmodel` and the model
// suites of `vkllm bench`.
#ifndef VKLLM_MODEL_PRESETS_H
#define VKLLM_MODEL_PRESETS_H

#include <stddef.h>

#include "host/model.h"

typedef struct vkl_model_preset {
    const char *name;
    vkl_model_config config;  // head_dim 0: dim / n_heads
    bool tied_output;         // shipped without output.weight (the classifier is token_embd)
} vkl_model_preset;

extern const vkl_model_preset vkl_model_presets[];
extern const size_t vkl_model_preset_count;
// The preset called `name`, or NULL.
const vkl_model_preset *vkl_model_preset_find(const char *name);
// The first preset of `arch` (the shape `mkmodel --arch` starts from), or NULL.
const vkl_model_preset *vkl_model_preset_of_arch(const struct vkl_arch *arch);
// The head size of a model of preset `p`'s kind with `dim` and `n_heads`: dim / n_heads, or, where
// the preset's head size is its own (Qwen3), the same multiple of dim / n_heads.
uint32_t vkl_preset_head_dim(const vkl_model_preset *p, uint32_t dim, uint32_t n_heads);
// The sizes the size options do not set, from the preset in proportion to those they do: the
// head size (vkl_preset_head_dim), the routed experts' width (to hidden), MLA's latent and
// query ranks (to dim), RoPE and value head widths (to the head size), multiples of 4 there.
void vkl_preset_fill(const vkl_model_preset *p, vkl_model_config *c);

#endif
