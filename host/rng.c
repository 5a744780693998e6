#include "host/rng.h"

void vkl_rng_seed(vkl_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t vkl_rng_next(vkl_rng *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float vkl_rng_uniform(vkl_rng *rng, float lo, float hi)
{
    double unit = (double)(vkl_rng_next(rng) >> 11) * 0x1p-53;  // [0, 1) with 53 random bits
    return (float)(lo + (hi - lo) * unit);
}

uint64_t vkl_hash_string(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return h;
}
