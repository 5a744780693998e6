// Expert load of an MoE model over a run: tokens routed to each expert of each layer and the
// mean router probability, from which the load-balancing figures follow (`vkllm run` prints
// them for MoE models, on the GPU and the CPU path alike).
#ifndef VKLLM_MOE_STATS_H
#define VKLLM_MOE_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "host/model.h"

typedef struct vkl_moe_stats {
    uint32_t n_layers, n_experts, k;
    uint64_t *routed;    // (n_layers, n_experts): token slots routed to each expert
    double *prob_sum;    // (n_layers, n_experts): router probabilities summed over tokens
    uint64_t *tokens;    // (n_layers): tokens seen
} vkl_moe_stats;

vkl_status vkl_moe_stats_init(vkl_moe_stats *s, const vkl_model_config *config);
void vkl_moe_stats_free(vkl_moe_stats *s);
// Adds a batch of T tokens of `layer`: per-expert counts and the batch's mean probabilities.
void vkl_moe_stats_add(vkl_moe_stats *s, uint32_t layer, const uint32_t *counts, const float *prob_mean, uint32_t T);
// One line per layer: tokens per expert, the busiest expert's load over the mean, and the
// Switch Transformer balance loss E * sum_e f_e P_e (1 when perfectly balanced).
void vkl_moe_stats_print(const vkl_moe_stats *s, FILE *out);

#endif
