// rope: rotary position embedding — CPU reference, the angle table, check shapes, launch.
// Shader: shaders/rope.comp, shaders/rope.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/kernels/rope.h"
#include "host/ref.h"
#include "shaders/rope.h"

// YaRN's pair index at which a pair turns `turns` times over `context` positions.
static double yarn_pair(double turns, uint32_t R, double base, uint32_t context)
{
    const double pi = 3.14159265358979323846;
    return R * log(context / (turns * 2.0 * pi)) / (2.0 * log(base));
}

double vkl_rope_freq(const vkl_rope_params *r, uint32_t R, uint32_t i)
{
    double extrapolated = pow(r->base, -2.0 * i / R), factor = r->factor > 1.0f ? r->factor : 1.0;
    if (factor == 1.0) return extrapolated;
    if (!r->yarn_context) return extrapolated / factor;
    double low = fmax(0.0, floor(yarn_pair(32.0, R, r->base, r->yarn_context)));
    double high = fmin(R - 1.0, ceil(yarn_pair(1.0, R, r->base, r->yarn_context)));
    double ramp = fmin(1.0, fmax(0.0, (i - low) / fmax(0.001, high - low)));  // 0: extrapolate, 1: interpolate
    return extrapolated / factor * ramp + extrapolated * (1.0 - ramp);
}

void vkl_rope_table(float *table, uint32_t rows, uint32_t rot_dim, const vkl_rope_params *r)
{
    // table (rows, rot_dim / 2, 2): cos and sin of p * freq(i), computed in double
    uint32_t half_r = rot_dim / 2;
    for (uint32_t p = 0; p < rows; p++) {
        for (uint32_t i = 0; i < half_r; i++) {
            double angle = p * vkl_rope_freq(r, rot_dim, i);
            table[((size_t)p * half_r + i) * 2] = (float)cos(angle);
            table[((size_t)p * half_r + i) * 2 + 1] = (float)sin(angle);
        }
    }
}

static void rotate_head(float *v, uint32_t R, bool neox, uint32_t p, const vkl_rope_params *r)
{
    for (uint32_t i = 0; i < R / 2; i++) {
        uint32_t a = neox ? i : 2 * i, b = neox ? i + R / 2 : 2 * i + 1;
        double angle = p * vkl_rope_freq(r, R, i), va = v[a], vb = v[b];
        v[a] = (float)(va * cos(angle) - vb * sin(angle));
        v[b] = (float)(va * sin(angle) + vb * cos(angle));
    }
}

void ref_rope(float *q, float *k, uint32_t M, uint32_t H, uint32_t KVH, uint32_t D, uint32_t R, bool neox,
              uint32_t p0, const vkl_rope_params *r)
{
    // q (M, H, D) · k (M, KVH, D), in place; token m is at position p0 + m
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t h = 0; h < H; h++) rotate_head(q + ((size_t)m * H + h) * D, R, neox, p0 + m, r);
        for (uint32_t h = 0; h < KVH; h++) rotate_head(k + ((size_t)m * KVH + h) * D, R, neox, p0 + m, r);
    }
}

enum { ADJACENT, NEOX, TEXEL_ADJACENT, TEXEL_NEOX };
static const vkl_variant variants[] = {
    [ADJACENT] = { "adjacent", "rope.adjacent", false, 0 },
    [NEOX] = { "neox", "rope.neox", false, 0 },
    [TEXEL_ADJACENT] = { "texel.adjacent", "rope.texel_adjacent", false, 0xbu },  // q, k, table as texels
    [TEXEL_NEOX] = { "texel.neox", "rope.texel_neox", false, 0xbu },
};
static bool is_neox(uint32_t variant) { return variant == NEOX || variant == TEXEL_NEOX; }
static bool is_texel(uint32_t variant) { return variant >= TEXEL_ADJACENT; }
static bool texel_fits(uint32_t D, uint32_t R) { return D % 4 == 0 && R % 8 == 0; }

const char *vkl_rope_variant(const vkl_device_info *info, uint32_t D, uint32_t R, bool neox)
{
    if (vkl_device_prefers_texel_reads(info) && texel_fits(D, R)) return neox ? "texel.neox" : "texel.adjacent";
    return neox ? "neox" : "adjacent";
}

enum { DIM_M, DIM_H, DIM_KVH, DIM_D, DIM_R, DIM_BASE, DIM_P, DIM_YARN };

// (M, H, KVH, D, R, base, P): stories260K (8 heads over 4, D 8), Llama-2 (32 x 128, MHA),
// Llama-3 (32 over 8, base 500000), partial rotary (R < D), a prefill at a late position,
// decode at position 8191, head dimensions 64, 80, 96, 256, base 10^6.
// YaRN (the last dimension, its original context): DeepSeek-V2's query and key RoPE parts (16
// heads and one of 64) past the 4,096 trained positions; the scale factor is the case's scalar,
// DeepSeek-V2's 40 unless set.
static const uint32_t full[][8] = {
    { 1, 1, 1, 2, 2, 10000, 0, 0 },         { 5, 8, 4, 8, 8, 10000, 0, 0 },        { 1, 8, 4, 8, 8, 10000, 37, 0 },
    { 1, 32, 32, 128, 128, 10000, 511, 0 }, { 7, 32, 8, 128, 128, 500000, 3, 0 }, { 3, 12, 12, 64, 32, 10000, 100, 0 },
    { 1, 16, 2, 256, 64, 1000000, 8191, 0 }, { 130, 8, 8, 80, 80, 10000, 1000, 0 }, { 512, 32, 8, 96, 96, 500000, 0, 0 },
    { 3, 16, 1, 64, 64, 10000, 9000, 4096 },
};
static const uint32_t quick[][8] = {
    { 1, 1, 1, 2, 2, 10000, 0, 0 }, { 5, 8, 4, 8, 8, 10000, 0, 0 }, { 3, 12, 12, 64, 32, 10000, 100, 0 },
    { 1, 16, 2, 256, 64, 1000000, 8191, 0 }, { 3, 16, 1, 64, 64, 10000, 9000, 4096 },
};

// Texel variants: one quad of pairs, 5 query heads over 1 with D 12 (R 8 partial).
static const uint32_t texel_extra[][8] = { { 1, 1, 1, 8, 8, 10000, 0, 0 }, { 3, 5, 1, 12, 8, 10000, 2, 0 } };

// The case's frequencies: its base, and its scale factor (linear without a YaRN context).
static vkl_rope_params params_of(const vkl_case *c)
{
    bool yarn = c->dims[DIM_YARN] != 0;
    return (vkl_rope_params){ .base = (float)c->dims[DIM_BASE], .factor = vkl_case_scalar(c, yarn ? 40.0f : 1.0f),
                              .yarn_context = c->dims[DIM_YARN] };
}

static bool texel_shape(const uint32_t *dims) { return texel_fits(dims[DIM_D], dims[DIM_R]); }

static void rope_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL_TEXEL(cases, self, variant, is_quick, quick, full, is_texel(variant), texel_extra,
                                texel_shape);
}

static uint32_t table_rows(const vkl_case *c) { return c->dims[DIM_P] + c->dims[DIM_M]; }

static void rope_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[DIM_M], D = c->dims[DIM_D];
    out[0] = (vkl_tensor_desc){ "q", VKL_DTYPE_F32, M * c->dims[DIM_H] * D, VKL_INOUT, -2.0f, 2.0f };
    out[1] = (vkl_tensor_desc){ "k", VKL_DTYPE_F32, M * c->dims[DIM_KVH] * D, VKL_INOUT, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "pos", VKL_DTYPE_U32, 1, VKL_IN, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "table", VKL_DTYPE_F32, (uint64_t)table_rows(c) * c->dims[DIM_R], VKL_IN, 0.0f, 0.0f };
}

static void rope_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[4];
    rope_tensors(c, d);
    if (index == 2) values[0] = (float)c->dims[DIM_P];
    else if (index == 3) {
        vkl_rope_params r = params_of(c);
        vkl_rope_table(values, table_rows(c), c->dims[DIM_R], &r);
    }
    else
        for (uint64_t i = 0; i < d[index].count; i++) values[i] = vkl_rng_uniform(rng, -2.0f, 2.0f);
}

static uint32_t rope_launch(const vkl_case *c, vkl_launch *out)
{
    struct rope_push push = { .M = c->dims[DIM_M], .H = c->dims[DIM_H], .KVH = c->dims[DIM_KVH], .D = c->dims[DIM_D],
                              .R = c->dims[DIM_R], .table_rows = table_rows(c) };
    uint64_t items = (uint64_t)push.M * (push.H + push.KVH) * (push.R / 2);  // pairs
    if (is_texel(c->variant)) {
        items = (uint64_t)push.M * (push.R / 8);  // tokens x quads of pairs, every head in a loop
        // q and k are also written through bindings 4 and 5
        out->binding_count = 6;
        for (uint32_t b = 0; b < 6; b++) out->bindings[b] = b % 4;
    }
    push.groups_x = vkl_launch_items(out, items, ROPE_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Each rotated value is va c - vb s (or va s + vb c) with c, s rounded once from double (u
// each), two products and a sum rounded (u each) and the reference's rounding (u):
// 4u (|va| + |vb|). Dimensions past R must come back unchanged: bound 0.
static void bound_heads(double *bound, const float *v, uint64_t heads, uint32_t D, uint32_t R, bool neox)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    for (uint64_t h = 0; h < heads; h++) {
        const float *x = v + h * D;
        double *b = bound + h * D;
        for (uint32_t j = R; j < D; j++) b[j] = 0.0;
        for (uint32_t i = 0; i < R / 2; i++) {
            uint32_t a = neox ? i : 2 * i, bb = neox ? i + R / 2 : 2 * i + 1;
            b[a] = b[bb] = 4.0 * u * (fabs(x[a]) + fabs(x[bb])) + VKL_F32_TINY;
        }
    }
}

static void rope_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const uint32_t *d = c->dims;
    bool neox = is_neox(c->variant);
    bound_heads(bounds[0], values[0], (uint64_t)d[DIM_M] * d[DIM_H], d[DIM_D], d[DIM_R], neox);
    bound_heads(bounds[1], values[1], (uint64_t)d[DIM_M] * d[DIM_KVH], d[DIM_D], d[DIM_R], neox);
    vkl_rope_params r = params_of(c);
    ref_rope(values[0], values[1], d[DIM_M], d[DIM_H], d[DIM_KVH], d[DIM_D], d[DIM_R], neox, d[DIM_P], &r);
}

static double rope_flops(const vkl_case *c)
{
    return 6.0 * c->dims[DIM_M] * (c->dims[DIM_H] + c->dims[DIM_KVH]) * (c->dims[DIM_R] / 2);
}

static double rope_bytes(const vkl_case *c)
{
    double pairs = (double)c->dims[DIM_M] * (c->dims[DIM_H] + c->dims[DIM_KVH]) * (c->dims[DIM_R] / 2);
    return pairs * 16.0 + (double)c->dims[DIM_M] * c->dims[DIM_R] * 4.0;  // read+write 2 floats; table rows
}

// Llama's adjacent pairs over whole heads (base 10000), the step's rows at the end of the context.
static void rope_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[8] = { b->M, b->heads, b->kv_heads, b->head_dim, b->head_dim, 10000, b->context - b->M, 0 };
    if (variant == ADJACENT || (variant == TEXEL_ADJACENT && texel_fits(b->head_dim, b->head_dim)))
        vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_rope = {
    .name = "rope",
    .dim_names = { "M", "H", "KVH", "D", "R", "base", "P", "yarn" },
    .dim_count = 8,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 4,
    .shapes = rope_shapes,
    .tensors = rope_tensors,
    .fill = rope_fill,
    .launch = rope_launch,
    .expect = rope_expect,
    .flops = rope_flops,
    .bytes = rope_bytes,
    .bench_shapes = rope_bench,
};
