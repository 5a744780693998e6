#include "host/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "host/ref.h"

int vkl_sampler_init(vkl_sampler *s, uint32_t vocab_size, float temperature, uint32_t top_k, float top_p, uint64_t seed)
{
    *s = (vkl_sampler){ .temperature = temperature, .top_k = top_k, .top_p = top_p, .vocab_size = vocab_size };
    vkl_rng_seed(&s->rng, seed);
    s->candidates = malloc(vocab_size * sizeof *s->candidates);
    s->probs = malloc(vocab_size * sizeof *s->probs);
    return s->candidates && s->probs ? 0 : -1;
}

void vkl_sampler_free(vkl_sampler *s)
{
    free(s->candidates);
    free(s->probs);
}

static int by_probability(const void *a, const void *b)
{
    const struct vkl_candidate *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id < y->id ? -1 : 1;  // deterministic order among equals
}

uint32_t vkl_sample(vkl_sampler *s, const float *logits)
{
    uint32_t n = s->vocab_size;
    if (s->temperature <= 0.0f) {
        uint32_t best;
        ref_argmax(&best, logits, 1, n);
        return best;
    }
    ref_softmax(s->probs, logits, 1, n, s->temperature);
    for (uint32_t i = 0; i < n; i++) s->candidates[i] = (struct vkl_candidate){ s->probs[i], i };
    qsort(s->candidates, n, sizeof *s->candidates, by_probability);
    uint32_t keep = s->top_k && s->top_k < n ? s->top_k : n;
    double mass = 0.0;
    for (uint32_t i = 0; i < keep; i++) {
        mass += s->candidates[i].p;
        if (s->top_p < 1.0f && mass >= s->top_p) { keep = i + 1; break; }
    }
    double total = 0.0;
    for (uint32_t i = 0; i < keep; i++) total += s->candidates[i].p;
    double r = (double)(vkl_rng_next(&s->rng) >> 11) * 0x1p-53 * total, acc = 0.0;
    for (uint32_t i = 0; i < keep; i++) {
        acc += s->candidates[i].p;
        if (r < acc) return s->candidates[i].id;
    }
    return s->candidates[keep - 1].id;
}
