// moe_route: router softmax and top-k experts per token — CPU reference, check shapes,
// launch. Shader: shaders/moe_route.comp, shaders/moe.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"
#include "shaders/moe.h"

void ref_moe_route(float *probs, uint32_t *ids, float *weights, const float *logits, uint32_t T, uint32_t E,
                   uint32_t k, bool renorm, double scale)
{
    // probs (T, E) · ids (T, k) · weights (T, k) · logits (T, E)
    for (uint32_t t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * E;
        double max = l[0], sum = 0.0, chosen = 0.0;
        for (uint32_t e = 1; e < E; e++) max = l[e] > max ? l[e] : max;
        for (uint32_t e = 0; e < E; e++) sum += exp(l[e] - max);
        for (uint32_t e = 0; e < E; e++) probs[(size_t)t * E + e] = (float)(exp(l[e] - max) / sum);
        bool taken[MOE_MAX_EXPERTS] = { false };
        for (uint32_t j = 0; j < k; j++) {
            uint32_t best = E;
            for (uint32_t e = 0; e < E; e++)  // strict >: the lower index wins ties
                if (!taken[e] && (best == E || l[e] > l[best])) best = e;
            taken[best] = true;
            ids[(size_t)t * k + j] = best;
            chosen += exp(l[best] - max) / sum;
        }
        for (uint32_t j = 0; j < k; j++) {
            double p = exp(l[ids[(size_t)t * k + j]] - max) / sum;
            weights[(size_t)t * k + j] = (float)((renorm ? p / chosen : p) * scale);
        }
    }
}

static const vkl_variant variants[] = { { "f32", "moe_route.default", false } };

enum { DIM_T, DIM_E, DIM_K, DIM_RENORM, DIM_MODE };
enum { MODE_LEVELS, MODE_TIED, MODE_CONTINUOUS };  // logits on 7 levels (many ties), all equal, uniform

// (T, E, k, renorm, mode): Mixtral (8 experts, top-2), Qwen-MoE style (60 and 64 experts,
// top-4, top-8), 256 experts, k = 1, all logits tied, more tokens than one workgroup.
static const uint32_t full[][5] = {
    { 1, 1, 1, 0, MODE_CONTINUOUS }, { 7, 8, 2, 1, MODE_LEVELS }, { 7, 8, 2, 0, MODE_TIED },
    { 33, 8, 1, 0, MODE_CONTINUOUS }, { 16, 60, 4, 1, MODE_LEVELS }, { 5, 64, 8, 1, MODE_CONTINUOUS },
    { 3, 256, 8, 0, MODE_LEVELS }, { 300, 128, 6, 1, MODE_CONTINUOUS }, { 512, 8, 2, 1, MODE_LEVELS },
};
static const uint32_t quick[][5] = { { 7, 8, 2, 1, MODE_LEVELS }, { 7, 8, 2, 0, MODE_TIED }, { 3, 256, 8, 0, MODE_LEVELS } };

static void moe_route_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void moe_route_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t T = c->dims[DIM_T], E = c->dims[DIM_E], k = c->dims[DIM_K];
    out[0] = (vkl_tensor_desc){ "logits", VKL_DTYPE_F32, T * E, VKL_IN, -4.0f, 4.0f };
    out[1] = (vkl_tensor_desc){ "probs", VKL_DTYPE_F32, T * E, VKL_OUT, 0.0f, 0.0f };
    out[2] = (vkl_tensor_desc){ "ids", VKL_DTYPE_U32, T * k, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "weights", VKL_DTYPE_F32, T * k, VKL_OUT, 0.0f, 0.0f };
}

static void moe_route_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    (void)index;
    uint64_t n = (uint64_t)c->dims[DIM_T] * c->dims[DIM_E];
    for (uint64_t i = 0; i < n; i++) {
        float v = vkl_rng_uniform(rng, -4.0f, 4.0f);
        values[i] = c->dims[DIM_MODE] == MODE_TIED ? 0.5f : c->dims[DIM_MODE] == MODE_LEVELS ? roundf(v * 0.75f) : v;
    }
}

static uint32_t moe_route_launch(const vkl_case *c, vkl_launch *out)
{
    struct moe_push push = { .T = c->dims[DIM_T], .E = c->dims[DIM_E], .k = c->dims[DIM_K], .renorm = c->dims[DIM_RENORM],
                             .scale = vkl_case_scalar(c, 1.0f) };
    vkl_split_groups(push.T, &out->groups[0], &out->groups[1]);
    out->groups[2] = 1;
    push.groups_x = out->groups[0];
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// ids are exact (chosen on the logits themselves). probs: the softmax bound of host/bounds.h.
// weights: a probability (same bound), or with renormalisation p_j / sum of the k chosen: the
// relative bounds of p_j and of the sum (the largest chosen one plus k roundings), the
// division (5u) and the reference's rounding (u).
void vkl_moe_route_bounds(double *prob_bound, double *weight_bound, const float *logits, const float *probs,
                          const float *weights, uint32_t T, uint32_t E, uint32_t k, bool renorm, double scale)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    for (uint32_t t = 0; t < T; t++) {
        double worst = vkl_softmax_bounds(prob_bound + (size_t)t * E, logits + (size_t)t * E, probs + (size_t)t * E, E, 1.0);
        for (uint32_t j = 0; j < k; j++) {
            double w = fabs(weights[(size_t)t * k + j]);
            // a scale other than 1 rounds the weight once more
            double rel = (renorm ? 2.0 * worst + (k + 6.0) * u : worst) + (scale != 1.0 ? u : 0.0);
            weight_bound[(size_t)t * k + j] = rel * w + VKL_F32_TINY;
        }
    }
}

static void moe_route_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t T = c->dims[DIM_T], E = c->dims[DIM_E], k = c->dims[DIM_K];
    uint32_t ids[MOE_MAX_K];
    for (uint32_t t = 0; t < T; t++) {
        ref_moe_route(values[1] + (size_t)t * E, ids, values[3] + (size_t)t * k, values[0] + (size_t)t * E, 1, E, k,
                      c->dims[DIM_RENORM], vkl_case_scalar(c, 1.0f));
        for (uint32_t j = 0; j < k; j++) values[2][(size_t)t * k + j] = (float)ids[j];
    }
    vkl_moe_route_bounds(bounds[1], bounds[3], values[0], values[1], values[3], T, E, k, c->dims[DIM_RENORM],
                         vkl_case_scalar(c, 1.0f));
}

static double moe_route_flops(const vkl_case *c) { return 6.0 * c->dims[DIM_T] * c->dims[DIM_E] * (1 + c->dims[DIM_K]); }
static double moe_route_bytes(const vkl_case *c) { return 8.0 * c->dims[DIM_T] * (c->dims[DIM_E] + c->dims[DIM_K]); }

static void moe_route_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[5] = { b->M, b->experts, b->experts_used, 1, MODE_CONTINUOUS };
    if (b->experts) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_moe_route = {
    .name = "moe_route",
    .dim_names = { "T", "E", "k", "renorm", "mode" },
    .dim_count = 5,
    .variants = variants,
    .variant_count = 1,
    .tensor_count = 4,
    .shapes = moe_route_shapes,
    .tensors = moe_route_tensors,
    .fill = moe_route_fill,
    .launch = moe_route_launch,
    .expect = moe_route_expect,
    .flops = moe_route_flops,
    .bytes = moe_route_bytes,
    .bench_shapes = moe_route_bench,
};
