#include "host/moe_stats.h"

#include <stdlib.h>
#include <string.h>

vkl_status vkl_moe_stats_init(vkl_moe_stats *s, const vkl_model_config *c)
{
    memset(s, 0, sizeof *s);
    s->n_layers = c->n_layers;
    s->n_experts = c->n_experts;
    s->k = c->n_experts_used;
    size_t cells = (size_t)c->n_layers * c->n_experts;
    s->routed = calloc(cells, sizeof *s->routed);
    s->prob_sum = calloc(cells, sizeof *s->prob_sum);
    s->tokens = calloc(c->n_layers, sizeof *s->tokens);
    if (s->routed && s->prob_sum && s->tokens) return VKL_OK;
    vkl_moe_stats_free(s);
    return VKL_ERR_OUT_OF_MEMORY;
}

void vkl_moe_stats_free(vkl_moe_stats *s)
{
    free(s->routed);
    free(s->prob_sum);
    free(s->tokens);
    memset(s, 0, sizeof *s);
}

void vkl_moe_stats_add(vkl_moe_stats *s, uint32_t layer, const uint32_t *counts, const float *prob_mean, uint32_t T)
{
    size_t row = (size_t)layer * s->n_experts;
    for (uint32_t e = 0; e < s->n_experts; e++) {
        s->routed[row + e] += counts[e];
        s->prob_sum[row + e] += (double)prob_mean[e] * T;
    }
    s->tokens[layer] += T;
}

void vkl_moe_stats_print(const vkl_moe_stats *s, FILE *out)
{
    fprintf(out, "vkllm: expert load (tokens per expert; max/mean load; balance loss E*sum f*P, 1 = even):\n");
    for (uint32_t l = 0; l < s->n_layers; l++) {
        const uint64_t *routed = s->routed + (size_t)l * s->n_experts;
        const double *prob = s->prob_sum + (size_t)l * s->n_experts;
        double slots = (double)s->tokens[l] * s->k, busiest = 0.0, loss = 0.0;
        fprintf(out, "  layer %3u:", l);
        for (uint32_t e = 0; e < s->n_experts; e++) {
            fprintf(out, " %llu", (unsigned long long)routed[e]);
            if (routed[e] > busiest) busiest = (double)routed[e];
            if (slots > 0) loss += (routed[e] / slots) * (prob[e] / s->tokens[l]);
        }
        double mean = slots / s->n_experts;
        fprintf(out, " | max/mean %.2f | balance loss %.3f\n", mean > 0 ? busiest / mean : 0.0, loss * s->n_experts);
    }
}
