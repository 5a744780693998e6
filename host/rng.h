// Seeded pseudo-random numbers (splitmix64): the same seed gives the same inputs everywhere.
#ifndef VKLLM_RNG_H
#define VKLLM_RNG_H

#include <stdint.h>

typedef struct vkl_rng { uint64_t state; } vkl_rng;

void vkl_rng_seed(vkl_rng *rng, uint64_t seed);
uint64_t vkl_rng_next(vkl_rng *rng);
// Uniform in [lo, hi).
float vkl_rng_uniform(vkl_rng *rng, float lo, float hi);
// FNV-1a hash of a string, to derive per-case seeds from names.
uint64_t vkl_hash_string(const char *text);

#endif
