// head_matmul: a matrix per head — CPU reference, check shapes, launch, bound. Shader:
// shaders/head_matmul.comp, shaders/head_matmul.h.
#include <stdlib.h>
#include <string.h>

#include "host/kernel.h"
#include "host/kernels/head_matmul.h"
#include "host/kernels/matmul.h"
#include "host/ref.h"
#include "shaders/head_matmul.h"

// Head h's rows of x (M, H, K) gathered into xh (M, K).
static void gather_head(float *xh, const float *x, uint32_t M, uint32_t H, uint32_t K, uint32_t h)
{
    for (uint32_t m = 0; m < M; m++) memcpy(xh + (size_t)m * K, x + ((size_t)m * H + h) * K, K * sizeof(float));
}

void ref_head_matmul(float *y, const float *x, const float *w, uint32_t M, uint32_t H, uint32_t N, uint32_t K)
{
    float *xh = malloc((size_t)M * K * sizeof *xh), *yh = malloc((size_t)M * N * sizeof *yh);
    if (!xh || !yh) abort();
    for (uint32_t h = 0; h < H; h++) {
        gather_head(xh, x, M, H, K, h);
        ref_matmul(yh, xh, w + (size_t)h * N * K, M, N, K);
        for (uint32_t m = 0; m < M; m++) memcpy(y + ((size_t)m * H + h) * N, yh + (size_t)m * N, N * sizeof(float));
    }
    free(xh);
    free(yh);
}

enum { F32, F16, TEXEL_F32, TEXEL_F16 };
static const vkl_variant variants[] = {
    [F32] = { "f32", "head_matmul.f32", false, 0 },
    [F16] = { "f16", "head_matmul.f16", false, 0 },
    [TEXEL_F32] = { "texel.f32", "head_matmul.texel_f32", false, 0x2u },  // W as texels
    [TEXEL_F16] = { "texel.f16", "head_matmul.texel_f16", false, 0x2u },
};
static bool is_f16(uint32_t variant) { return variant == F16 || variant == TEXEL_F16; }

const char *vkl_head_matmul_variant(const vkl_device_info *info, vkl_dtype dtype, uint32_t K)
{
    if (K % 4 || (dtype != VKL_DTYPE_F32 && dtype != VKL_DTYPE_F16)) return NULL;
    bool f16 = dtype == VKL_DTYPE_F16;
    if (vkl_device_prefers_texel_reads(info)) return f16 ? "texel.f16" : "texel.f32";
    return f16 ? "f16" : "f32";
}

enum { DIM_M, DIM_H, DIM_N, DIM_K };

// (M, H, N, K): DeepSeek-V2's absorption (16 and 128 heads, 512 x 128) and value projection
// (128 x 512) in decode and for a prompt; one value; odd row counts and widths of one and three
// 4-value steps.
static const uint32_t full[][4] = {
    { 1, 1, 1, 4 },      { 1, 16, 512, 128 }, { 1, 16, 128, 512 }, { 1, 128, 512, 128 }, { 37, 16, 512, 128 },
    { 37, 16, 128, 512 }, { 5, 3, 7, 12 },     { 129, 2, 33, 4 },
};
static const uint32_t quick[][4] = { { 1, 16, 512, 128 }, { 37, 16, 128, 512 }, { 5, 3, 7, 12 } };

static void head_matmul_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void head_matmul_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    const uint32_t *d = c->dims;
    uint64_t rows = (uint64_t)d[DIM_M] * d[DIM_H];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, rows * d[DIM_K], VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "w", is_f16(c->variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32,
                                (uint64_t)d[DIM_H] * d[DIM_N] * d[DIM_K], VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, rows * d[DIM_N], VKL_OUT, 0.0f, 0.0f };
}

static uint32_t head_matmul_launch(const vkl_case *c, vkl_launch *out)
{
    const uint32_t *d = c->dims;
    struct head_matmul_push push = { .M = d[DIM_M], .H = d[DIM_H], .N = d[DIM_N], .K = d[DIM_K] };
    push.groups_x = vkl_launch_items(out, (uint64_t)push.M * push.H * push.N, HEAD_MATMUL_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Each head is a matmul: its bound (host/kernels/matmul.c) on that head's rows.
static void head_matmul_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const uint32_t *d = c->dims;
    uint32_t M = d[DIM_M], H = d[DIM_H], N = d[DIM_N], K = d[DIM_K];
    float *xh = malloc((size_t)M * K * sizeof *xh), *yh = malloc((size_t)M * N * sizeof *yh);
    double *bh = malloc((size_t)M * N * sizeof *bh);
    if (!xh || !yh || !bh) abort();
    for (uint32_t h = 0; h < H; h++) {
        gather_head(xh, values[0], M, H, K, h);
        vkl_matmul_expect(xh, values[1] + (size_t)h * N * K, NULL, yh, bh, M, N, K, 0.0);
        for (uint32_t m = 0; m < M; m++) {
            size_t at = ((size_t)m * H + h) * N;
            memcpy(values[2] + at, yh + (size_t)m * N, N * sizeof(float));
            memcpy(bounds[2] + at, bh + (size_t)m * N, N * sizeof(double));
        }
    }
    free(xh);
    free(yh);
    free(bh);
}

static double head_matmul_flops(const vkl_case *c)
{
    return 2.0 * c->dims[DIM_M] * c->dims[DIM_H] * c->dims[DIM_N] * c->dims[DIM_K];
}

static double head_matmul_bytes(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double rows = (double)d[DIM_M] * d[DIM_H];
    return 4.0 * rows * (d[DIM_K] + d[DIM_N]) + (is_f16(c->variant) ? 2.0 : 4.0) * d[DIM_H] * d[DIM_N] * d[DIM_K];
}

const vkl_kernel vkl_kernel_head_matmul = {
    .name = "head_matmul",
    .dim_names = { "M", "H", "N", "K" },
    .dim_count = 4,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = head_matmul_shapes,
    .tensors = head_matmul_tensors,
    .launch = head_matmul_launch,
    .expect = head_matmul_expect,
    .flops = head_matmul_flops,
    .bytes = head_matmul_bytes,
};
