// attention_mla: multi-head latent attention over the latent cache — CPU reference, check
// shapes, launch, bound. Shader: shaders/attention_mla.comp, shaders/attention_mla.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/kernel.h"
#include "host/kernels/attention.h"
#include "host/kernels/attention_mla.h"
#include "host/ref.h"
#include "shaders/attention_mla.h"

// Query (a, b) of one head against keys 0..n-1, softmax, weighted latents; all in double.
static void mla_head(float *o, const float *a, const float *b, const float *latent, const float *rope_key, uint32_t n,
                     uint32_t L, uint32_t R, double scale, double *scores)
{
    double max = -INFINITY, sum = 0.0;
    for (uint32_t t = 0; t < n; t++) {
        double s = 0.0;
        for (uint32_t i = 0; i < L; i++) s += (double)a[i] * latent[(size_t)t * L + i];
        for (uint32_t i = 0; i < R; i++) s += (double)b[i] * rope_key[(size_t)t * R + i];
        scores[t] = s * scale;
        max = fmax(max, scores[t]);
    }
    for (uint32_t t = 0; t < n; t++) sum += scores[t] = exp(scores[t] - max);
    for (uint32_t d = 0; d < L; d++) {
        double acc = 0.0;
        for (uint32_t t = 0; t < n; t++) acc += scores[t] * latent[(size_t)t * L + d];
        o[d] = (float)(acc / sum);
    }
}

void ref_attention_mla(float *o, const float *q_lat, const float *q_rope, const float *latent, const float *rope_key,
                       uint32_t M, uint32_t H, uint32_t L, uint32_t R, uint32_t p0, double scale)
{
    double *scores = malloc((size_t)(p0 + M) * sizeof *scores);
    if (!scores) abort();
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t h = 0; h < H; h++) {
            size_t row = (size_t)m * H + h;
            mla_head(o + row * L, q_lat + row * L, q_rope + row * R, latent, rope_key, p0 + m + 1, L, R, scale, scores);
        }
    free(scores);
}

static const vkl_variant variants[] = { { "f32", "attention_mla.f32", false, 0 } };

// Keys per chunk for a cache of `capacity` positions (attention_mla.h).
static uint32_t chunk_of(uint32_t capacity)
{
    uint64_t keys = ((uint64_t)capacity + MLA_CHUNKS - 1) / MLA_CHUNKS;
    keys = (keys + MLA_WG - 1) / MLA_WG * MLA_WG;
    return keys < MLA_CHUNK_MIN ? MLA_CHUNK_MIN : keys > MLA_CHUNK_MAX ? MLA_CHUNK_MAX : (uint32_t)keys;
}

static uint32_t chunks_of(uint32_t capacity)
{
    uint32_t chunk = chunk_of(capacity);
    return (uint32_t)(((uint64_t)capacity + chunk - 1) / chunk);
}

uint64_t vkl_attention_mla_partials(uint32_t M, uint32_t H, uint32_t L, uint32_t capacity)
{
    return (uint64_t)M * H * chunks_of(capacity) * (L + 2);
}

bool vkl_attention_mla_fits(uint32_t M, uint32_t H, uint32_t L, uint32_t R)
{
    return L % 4 == 0 && R % 4 == 0 && L <= MLA_LMAX && R <= MLA_RMAX && (uint64_t)M * H <= VKL_MAX_GROUPS_X &&
           H <= VKL_MAX_GROUPS_X;
}

enum { DIM_M, DIM_H, DIM_L, DIM_R, DIM_P, DIM_C };

// (M, H, L, R, P, capacity): one key; DeepSeek-V2(-Lite)'s 16 and 128 heads of latent 512 and
// RoPE width 64 in decode at contexts of one tile, a tile plus one, one chunk, a chunk plus one
// and four chunks; prompts from 0 and after a prefix, with query rows whose key counts end
// mid-tile and whose keys span two chunks; widths not multiples of the workgroup's columns
// (L 40, 96, 520, 1024; R 4, 12) and a latent of more than one column per invocation; chunks of
// 1,280 keys (context 20,480) and of the most, 8,192 (at DeepSeek-V2's 163,840 positions).
static const uint32_t full[][6] = {
    { 1, 1, 8, 4, 0, 1 },           { 1, 16, 512, 64, 63, 64 },      { 1, 16, 512, 64, 64, 128 },
    { 1, 16, 512, 64, 1023, 1024 }, { 1, 16, 512, 64, 1024, 1100 },   { 1, 128, 512, 64, 300, 512 },
    { 7, 3, 40, 8, 5, 16 },         { 33, 4, 96, 12, 100, 160 },      { 70, 2, 520, 64, 0, 70 },
    { 129, 16, 512, 64, 0, 130 },   { 5, 16, 512, 64, 4091, 4096 },   { 9, 2, 1024, 4, 1020, 1040 },
    { 2, 2, 64, 4, 20000, 20480 },  { 1, 1, 64, 4, 140000, 163840 },
};
static const uint32_t quick[][6] = { { 1, 16, 512, 64, 1024, 1100 }, { 33, 4, 96, 12, 100, 160 } };

static void attention_mla_shapes(const vkl_kernel *self, uint32_t variant, bool quick_only, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick_only, quick, full);
}

static void attention_mla_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    const uint32_t *d = c->dims;
    uint64_t rows = (uint64_t)d[DIM_M] * d[DIM_H];
    out[0] = (vkl_tensor_desc){ "q_lat", VKL_DTYPE_F32, rows * d[DIM_L], VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "q_rope", VKL_DTYPE_F32, rows * d[DIM_R], VKL_IN, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "latent", VKL_DTYPE_F32, (uint64_t)d[DIM_C] * d[DIM_L], VKL_IN, -1.0f, 1.0f };
    out[3] = (vkl_tensor_desc){ "rope_key", VKL_DTYPE_F32, (uint64_t)d[DIM_C] * d[DIM_R], VKL_IN, -2.0f, 2.0f };
    out[4] = (vkl_tensor_desc){ "pos", VKL_DTYPE_U32, 1, VKL_IN, 0.0f, 0.0f };
    out[5] = (vkl_tensor_desc){ "o", VKL_DTYPE_F32, rows * d[DIM_L], VKL_OUT, 0.0f, 0.0f };
    out[6] = (vkl_tensor_desc){ "partials", VKL_DTYPE_F32, vkl_attention_mla_partials(d[DIM_M], d[DIM_H], d[DIM_L], d[DIM_C]),
                                VKL_SCRATCH, 0.0f, 0.0f };
}

// Cache rows no query may see (p0 + M and later) hold NaN, so reading one shows (see attention).
static void attention_mla_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[7];
    attention_mla_tensors(c, d);
    if (index == 4) {
        values[0] = (float)c->dims[DIM_P];
        return;
    }
    uint32_t width = index == 2 ? c->dims[DIM_L] : c->dims[DIM_R];
    uint64_t visible = index < 2 ? d[index].count : (uint64_t)(c->dims[DIM_P] + c->dims[DIM_M]) * width;
    for (uint64_t i = 0; i < d[index].count; i++)
        values[i] = i < visible ? vkl_rng_uniform(rng, d[index].lo, d[index].hi) : NAN;
}

// DeepSeek-V2's scale without YaRN, 1 / sqrt(nope + rope dims) = 1 / sqrt(192), unless the case sets one.
static double scale_of(const vkl_case *c) { return vkl_case_scalar(c, (float)(1.0 / sqrt(192.0))); }

static uint32_t attention_mla_launch(const vkl_case *c, vkl_launch *out)
{
    const uint32_t *d = c->dims;
    struct attention_mla_push push = { .M = d[DIM_M], .H = d[DIM_H], .L = d[DIM_L], .R = d[DIM_R],
                                       .chunk = chunk_of(d[DIM_C]), .chunks = chunks_of(d[DIM_C]),
                                       .scale = (float)scale_of(c) };
    out[0] = (vkl_launch){ .groups = { push.H, push.M, push.chunks } };
    out[1] = (vkl_launch){ .shader = "attention_mla_merge.default", .binding_count = 2, .bindings = { 6, 5 },
                           .groups = { (push.L + MLA_MERGE_WG - 1) / MLA_MERGE_WG, push.M * push.H, 1 } };
    vkl_launch_set_push(&out[0], &push, sizeof push);
    vkl_launch_set_push(&out[1], &push, sizeof push);
    return 2;
}

// Attention's bound (host/kernels/attention.c) with keys [latent | rope key] of L + R values,
// values the latents, running sums rescaled once per MLA_WG keys and chunks merged.
static void attention_mla_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const uint32_t *d = c->dims;
    uint32_t M = d[DIM_M], H = d[DIM_H], L = d[DIM_L], R = d[DIM_R], P = d[DIM_P], n = P + M, K = L + R;
    double scale = scale_of(c);
    ref_attention_mla(values[5], values[0], values[1], values[2], values[3], M, H, L, R, P, scale);
    float *keys = malloc((size_t)n * K * sizeof *keys), *q = malloc(K * sizeof *q);
    double *scores = malloc(n * sizeof *scores), *eps = malloc(n * sizeof *eps);
    if (!keys || !q || !scores || !eps) abort();
    for (uint32_t t = 0; t < n; t++) {
        memcpy(keys + (size_t)t * K, values[2] + (size_t)t * L, L * sizeof(float));
        memcpy(keys + (size_t)t * K + L, values[3] + (size_t)t * R, R * sizeof(float));
    }
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t h = 0; h < H; h++) {
            size_t row = (size_t)m * H + h;
            memcpy(q, values[0] + row * L, L * sizeof(float));
            memcpy(q + L, values[1] + row * R, R * sizeof(float));
            vkl_attention_bound(bounds[5] + row * L, values[5] + row * L, q, keys, K, values[2], L, P + m + 1, K, L,
                                scale, MLA_WG, true, scores, eps);
        }
    free(keys);
    free(q);
    free(scores);
    free(eps);
}

// Per query and head: n keys times (2 (L + R) for the score, 2 L for the values) plus the softmax.
static double attention_mla_flops(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double keys = (double)d[DIM_M] * d[DIM_P] + (double)d[DIM_M] * (d[DIM_M] + 1) / 2.0;
    return keys * d[DIM_H] * (4.0 * d[DIM_L] + 2.0 * d[DIM_R] + 5.0);
}

// The cache rows read once, the queries and the outputs.
static double attention_mla_bytes(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double rows = (double)d[DIM_M] * d[DIM_H];
    return 4.0 * ((double)(d[DIM_P] + d[DIM_M]) * (d[DIM_L] + d[DIM_R]) + rows * (2.0 * d[DIM_L] + d[DIM_R]));
}

const vkl_kernel vkl_kernel_attention_mla = {
    .name = "attention_mla",
    .dim_names = { "M", "H", "L", "R", "P", "C" },
    .dim_count = 6,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 7,
    .shapes = attention_mla_shapes,
    .tensors = attention_mla_tensors,
    .fill = attention_mla_fill,
    .launch = attention_mla_launch,
    .expect = attention_mla_expect,
    .flops = attention_mla_flops,
    .bytes = attention_mla_bytes,
};
