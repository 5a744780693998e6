// kv_append: new K and V rows into a layer's cache — CPU reference, capacity check, check
// shapes, launch. Shader: shaders/kv_append.comp, shaders/kv_append.h.
#include <math.h>
#include <string.h>

#include "host/half.h"
#include "host/kernel.h"
#include "host/kernels/kv_append.h"
#include "host/ref.h"
#include "runtime/status.h"
#include "shaders/kv_append.h"

bool vkl_kv_append_fits(uint32_t pos, uint32_t count, uint32_t capacity)
{
    if ((uint64_t)pos + count <= capacity) return true;
    vkl_log_error("KV cache append of %u token(s) at position %u exceeds its capacity of %u positions", count, pos,
                  capacity);
    return false;
}

static float stored(float v, bool f16) { return f16 ? vkl_f16_to_f32(vkl_f32_to_f16(v)) : v; }

void ref_kv_append(float *k_cache, float *v_cache, const float *k_new, const float *v_new, uint32_t M, uint32_t row,
                   uint32_t v_row, uint32_t p0, bool f16)
{
    // k_cache (capacity, row), v_cache (capacity, v_row) · k_new (M, row), v_new (M, v_row);
    // f16 rounds what is stored
    for (uint64_t i = 0; i < (uint64_t)M * row; i++) k_cache[(size_t)p0 * row + i] = stored(k_new[i], f16);
    for (uint64_t i = 0; i < (uint64_t)M * v_row; i++) v_cache[(size_t)p0 * v_row + i] = stored(v_new[i], f16);
}

enum { F32, F16, TEXEL_F32, TEXEL_F16 };
static const vkl_variant variants[] = {
    [F32] = { "f32", "kv_append.f32", false, 0 },
    [F16] = { "f16", "kv_append.f16", false, 0 },
    [TEXEL_F32] = { "texel.f32", "kv_append.texel_f32", false, 0x3u },  // k_new and v_new as texels
    [TEXEL_F16] = { "texel.f16", "kv_append.texel_f16", false, 0x3u },
};
static bool is_f16(uint32_t variant) { return variant == F16 || variant == TEXEL_F16; }
static bool is_texel(uint32_t variant) { return variant >= TEXEL_F32; }

const char *vkl_kv_append_variant(const vkl_device_info *info, uint32_t row, uint32_t v_row, bool f16_cache)
{
    if (vkl_device_prefers_texel_reads(info) && row % 4 == 0 && v_row % 4 == 0) return f16_cache ? "texel.f16" : "texel.f32";
    return f16_cache ? "f16" : "f32";
}

enum { DIM_M, DIM_KVH, DIM_D, DIM_P, DIM_C, DIM_DV };

// (M, KVH, D, P, capacity, DV; DV 0: D): decode into the middle and into the last slot, a
// prefill from 0 that fills the cache exactly, stories260K (4 x 8), Llama-3 (8 x 128) at
// 8192; DeepSeek-V2's latent (512) with its RoPE key (64) as V, and V rows of 2 and 6 beside K
// rows of 8 and 2.
static const uint32_t full[][6] = {
    { 1, 1, 2, 0, 1, 0 },       { 1, 4, 8, 100, 512, 0 },    { 1, 4, 8, 511, 512, 0 },   { 512, 4, 8, 0, 512, 0 },
    { 7, 8, 128, 4093, 8192, 0 }, { 1, 8, 128, 8191, 8192, 0 }, { 300, 2, 96, 17, 1024, 0 }, { 512, 8, 128, 0, 4096, 0 },
    { 1, 1, 512, 30, 64, 64 },  { 77, 1, 512, 3, 80, 64 },   { 5, 1, 8, 3, 9, 2 },       { 9, 3, 2, 0, 9, 6 },
};
static const uint32_t quick[][6] = {
    { 1, 1, 2, 0, 1, 0 }, { 1, 4, 8, 511, 512, 0 }, { 7, 8, 128, 4093, 8192, 0 }, { 77, 1, 512, 3, 80, 64 },
};

// Texel variants need rows of whole texels (KVH * D % 4 == 0): one texel, and 3 x 5 x 4 (60
// texels, not a multiple of an invocation's 4 per row) after a prefix; V rows of one texel
// beside K rows of 3.
static const uint32_t texel_extra[][6] = { { 1, 1, 4, 0, 1, 0 }, { 3, 5, 12, 2, 9, 0 }, { 5, 1, 12, 1, 7, 4 } };

static uint32_t v_dim(const uint32_t *dims) { return dims[DIM_DV] ? dims[DIM_DV] : dims[DIM_D]; }
static bool texel_shape(const uint32_t *dims) { return dims[DIM_KVH] * dims[DIM_D] % 4 == 0 && dims[DIM_KVH] * v_dim(dims) % 4 == 0; }

static void kv_append_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL_TEXEL(cases, self, variant, is_quick, quick, full, is_texel(variant), texel_extra,
                                texel_shape);
}

static uint32_t row_of(const vkl_case *c) { return c->dims[DIM_KVH] * c->dims[DIM_D]; }
static uint32_t v_row_of(const vkl_case *c) { return c->dims[DIM_KVH] * v_dim(c->dims); }

static void kv_append_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[DIM_M], C = c->dims[DIM_C];
    vkl_dtype type = is_f16(c->variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
    out[0] = (vkl_tensor_desc){ "k_new", VKL_DTYPE_F32, M * row_of(c), VKL_IN, -3.0f, 3.0f };
    out[1] = (vkl_tensor_desc){ "v_new", VKL_DTYPE_F32, M * v_row_of(c), VKL_IN, -3.0f, 3.0f };
    out[2] = (vkl_tensor_desc){ "k_cache", type, C * row_of(c), VKL_INOUT, -3.0f, 3.0f };  // earlier tokens
    out[3] = (vkl_tensor_desc){ "v_cache", type, C * v_row_of(c), VKL_INOUT, -3.0f, 3.0f };
    out[4] = (vkl_tensor_desc){ "pos", VKL_DTYPE_U32, 1, VKL_IN, 0.0f, 0.0f };
}

static void kv_append_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[5];
    kv_append_tensors(c, d);
    if (index == 4) values[0] = (float)c->dims[DIM_P];
    else
        for (uint64_t i = 0; i < d[index].count; i++) values[i] = vkl_rng_uniform(rng, d[index].lo, d[index].hi);
}

static uint32_t kv_append_launch(const vkl_case *c, vkl_launch *out)
{
    struct kv_append_push push = { .M = c->dims[DIM_M], .row = row_of(c), .v_row = v_row_of(c),
                                   .capacity = c->dims[DIM_C] };
    uint64_t items = (uint64_t)push.M * (push.row + push.v_row) / 2;  // f16 words
    if (is_texel(c->variant))  // K's invocations, then V's
        items = ((uint64_t)push.M * push.row / 4 + KV_APPEND_TEXELS - 1) / KV_APPEND_TEXELS +
                ((uint64_t)push.M * push.v_row / 4 + KV_APPEND_TEXELS - 1) / KV_APPEND_TEXELS;
    push.groups_x = vkl_launch_items(out, items, KV_APPEND_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Positions outside [P, P+M) must be untouched and f32 rows copied: bound 0. f16 stores go
// through packHalf2x16, whose rounding GLSL leaves to the device: one f16 ulp (2^-10 |v|,
// or 2^-24 below the normal range).
static void kv_append_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    bool f16 = is_f16(c->variant);
    ref_kv_append(values[2], values[3], values[0], values[1], c->dims[DIM_M], row_of(c), v_row_of(c), c->dims[DIM_P],
                  f16);
    for (int t = 2; t <= 3; t++) {
        uint32_t row = t == 2 ? row_of(c) : v_row_of(c);
        memset(bounds[t], 0, (uint64_t)c->dims[DIM_C] * row * sizeof(double));
        if (!f16) continue;
        for (uint64_t i = (uint64_t)c->dims[DIM_P] * row; i < (uint64_t)(c->dims[DIM_P] + c->dims[DIM_M]) * row; i++)
            bounds[t][i] = fabs(values[t][i]) * 0x1p-10 + 0x1p-24;
    }
}

static double kv_append_flops(const vkl_case *c) { (void)c; return 0.0; }
static double kv_append_bytes(const vkl_case *c)
{
    double n = (double)c->dims[DIM_M] * (row_of(c) + v_row_of(c));
    return n * (4.0 + (is_f16(c->variant) ? 2.0 : 4.0));
}

static void kv_append_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[6] = { b->M, b->kv_heads, b->head_dim, b->context - b->M, b->context, 0 };
    if (!is_texel(variant) || b->kv_heads * b->head_dim % 4 == 0) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_kv_append = {
    .name = "kv_append",
    .dim_names = { "M", "KVH", "D", "P", "C", "DV" },
    .dim_count = 6,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 5,
    .shapes = kv_append_shapes,
    .tensors = kv_append_tensors,
    .fill = kv_append_fill,
    .launch = kv_append_launch,
    .expect = kv_append_expect,
    .flops = kv_append_flops,
    .bytes = kv_append_bytes,
    .bench_shapes = kv_append_bench,
};
