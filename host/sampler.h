// Next-token sampling: greedy at temperature 0, else temperature, top-k and top-p (nucleus),
// from a seeded generator, so the same seed gives the same text.
#ifndef VKLLM_SAMPLER_H
#define VKLLM_SAMPLER_H

#include <stdint.h>

#include "host/rng.h"

typedef struct vkl_sampler {
    float temperature;  // 0: greedy
    uint32_t top_k;     // 0: no limit
    float top_p;        // 1: no limit
    vkl_rng rng;
    uint32_t vocab_size;
    struct vkl_candidate { float p; uint32_t id; } *candidates;  // (vocab_size) scratch
    float *probs;       // (vocab_size) scratch
} vkl_sampler;

int vkl_sampler_init(vkl_sampler *s, uint32_t vocab_size, float temperature, uint32_t top_k, float top_p, uint64_t seed);
void vkl_sampler_free(vkl_sampler *s);
// Picks the next token from `logits` (vocab_size). Greedy ties go to the lower index.
uint32_t vkl_sample(vkl_sampler *s, const float *logits);

#endif
