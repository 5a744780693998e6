// attn_qkv: q = n(x) · W_qᵀ, k = n(x) · W_kᵀ, v = n(x) · W_vᵀ with the attention block's
// RMSNorm n(x) = x g / sqrt(mean(x²) + eps) folded in, in one dispatch (for decode on CPU
// devices, where each dispatch costs 17-24 µs) — CPU reference, check shapes, launch.
// Shader: shaders/matmul_gemv.comp with QKV and NORM (texel path only).
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"

#include "host/kernel.h"
#include "host/kernels/attn_qkv.h"
#include "host/kernels/matmul.h"
#include "shaders/matmul.h"

enum { TEXEL_F32, TEXEL_F16 };
#define X_AND_WEIGHTS 0xabu  // texel bindings: x, W_q, W_k, W_v, g (outputs are storage buffers)
static const vkl_variant variants[] = {
    [TEXEL_F32] = { "texel.f32", "matmul_gemv.qkv_texel_f32", false, X_AND_WEIGHTS },
    [TEXEL_F16] = { "texel.f16", "matmul_gemv.qkv_texel_f16", false, X_AND_WEIGHTS },
};

enum { DIM_M, DIM_N, DIM_NKV, DIM_K };

const char *vkl_attn_qkv_variant(const vkl_device_info *info, uint32_t M, uint32_t N, uint32_t n_kv, uint32_t K,
                                 bool f16_weights)
{
    bool whole_blocks = N % MATMUL_GEMV_TEXEL_ROWS == 0 && n_kv % MATMUL_GEMV_TEXEL_ROWS == 0;
    if (M != 1 || !whole_blocks || K % (f16_weights ? 8u : 4u) != 0 || !vkl_device_prefers_texel_reads(info))
        return NULL;
    return f16_weights ? "texel.f16" : "texel.f32";
}

// (M, N, N_kv, K): N and N_kv multiples of 8 (rows per workgroup), K of 8: stories260K (64, 32
// over 64), MHA, Llama-3-8B's GQA (4096, 1024 over 4096), several x rows.
static const uint32_t full[][4] = {
    { 1, 8, 8, 8 }, { 1, 64, 32, 64 }, { 1, 16, 8, 40 }, { 1, 256, 256, 128 }, { 1, 4096, 1024, 4096 }, { 2, 32, 16, 24 },
    { 3, 96, 32, 136 },
};
static const uint32_t quick[][4] = { { 1, 8, 8, 8 }, { 1, 64, 32, 64 }, { 3, 96, 32, 136 } };

static void qkv_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void qkv_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[DIM_M], N = c->dims[DIM_N], NKV = c->dims[DIM_NKV], K = c->dims[DIM_K];
    vkl_dtype wtype = c->variant == TEXEL_F16 ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * K, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "W_q", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "q", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "W_k", wtype, NKV * K, VKL_IN, -1.0f, 1.0f };
    out[4] = (vkl_tensor_desc){ "k", VKL_DTYPE_F32, M * NKV, VKL_OUT, 0.0f, 0.0f };
    out[5] = (vkl_tensor_desc){ "W_v", wtype, NKV * K, VKL_IN, -1.0f, 1.0f };
    out[6] = (vkl_tensor_desc){ "v", VKL_DTYPE_F32, M * NKV, VKL_OUT, 0.0f, 0.0f };
    out[7] = (vkl_tensor_desc){ "g", VKL_DTYPE_F32, K, VKL_IN, -2.0f, 2.0f };
}

#define NORM_EPS_DEFAULT 1e-5f  // eps when the case sets none

static uint32_t qkv_launch(const vkl_case *c, vkl_launch *out)
{
    struct matmul_push push = { .M = c->dims[DIM_M], .N = c->dims[DIM_N], .K = c->dims[DIM_K], .n_kv = c->dims[DIM_NKV],
                                .eps = vkl_case_scalar(c, NORM_EPS_DEFAULT) };
    return vkl_matmul_texel_gemv_launch(push, (push.N + 2 * push.n_kv) / MATMUL_GEMV_TEXEL_ROWS, out);
}

// y = n(x) W^T with its bound (vkl_norm_matmul_exact), plus u|y| for rounding it to f32.
static void norm_matmul_expect(const vkl_case *c, float *const *values, uint32_t w, uint32_t y, double *bounds,
                               uint32_t N)
{
    uint32_t M = c->dims[DIM_M], K = c->dims[DIM_K];
    double *exact = malloc((size_t)M * N * sizeof *exact);
    if (!exact) abort();  // sizes were checked by the driver before allocating
    vkl_norm_matmul_exact(values[0], values[7], vkl_case_scalar(c, NORM_EPS_DEFAULT), values[w], exact, bounds, M, N, K);
    for (size_t i = 0; i < (size_t)M * N; i++) {
        values[y][i] = (float)exact[i];
        bounds[i] += VKL_F32_UNIT_ROUNDOFF * fabs(exact[i]);
    }
    free(exact);
}

static void qkv_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    norm_matmul_expect(c, values, 1, 2, bounds[2], c->dims[DIM_N]);
    norm_matmul_expect(c, values, 3, 4, bounds[4], c->dims[DIM_NKV]);
    norm_matmul_expect(c, values, 5, 6, bounds[6], c->dims[DIM_NKV]);
}

static double qkv_flops(const vkl_case *c)
{
    return 2.0 * c->dims[DIM_M] * (c->dims[DIM_N] + 2.0 * c->dims[DIM_NKV] + 2.0) * c->dims[DIM_K];
}

static double qkv_bytes(const vkl_case *c)
{
    double M = c->dims[DIM_M], rows = c->dims[DIM_N] + 2.0 * c->dims[DIM_NKV], K = c->dims[DIM_K];
    return 4.0 * (M + 1.0) * K + (c->variant == TEXEL_F16 ? 2.0 : 4.0) * rows * K + 4.0 * M * rows;
}

// A model's Q, K and V projections at decode.
static void qkv_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[4] = { 1, b->dim, b->kv_heads * b->head_dim, b->dim };
    if (b->M == 1 && dims[1] % 8 == 0 && dims[2] % 8 == 0 && b->dim % 8 == 0) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_attn_qkv = {
    .name = "attn_qkv",
    .dim_names = { "M", "N", "N_kv", "K" },
    .dim_count = 4,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 8,
    .shapes = qkv_shapes,
    .tensors = qkv_tensors,
    .launch = qkv_launch,
    .expect = qkv_expect,
    .flops = qkv_flops,
    .bytes = qkv_bytes,
    .bench_shapes = qkv_bench,
};
