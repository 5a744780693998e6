// ffn_gate_up: h[M,N] = silu(x · Wgᵀ) ⊙ (x · Wuᵀ), the first half of a SwiGLU FFN in one
// dispatch (for decode on CPU devices, where each dispatch costs 17-24 µs) — CPU reference,
// check shapes, launch. Shader: shaders/matmul_gemv.comp with GATE_UP (texel path only).
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/kernels/ffn_gate_up.h"
#include "host/kernels/matmul.h"
#include "host/ref.h"
#include "shaders/matmul.h"

void ref_ffn_gate_up(float *h, const float *x, const float *w_gate, const float *w_up, uint32_t M, uint32_t N,
                     uint32_t K)
{
    // h (M, N) · x (M, K) · w_gate, w_up (N, K); the products and silu in double
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < N; n++) {
            double g = 0.0, u = 0.0;
            for (uint32_t k = 0; k < K; k++) {
                g += (double)x[(size_t)m * K + k] * w_gate[(size_t)n * K + k];
                u += (double)x[(size_t)m * K + k] * w_up[(size_t)n * K + k];
            }
            h[(size_t)m * N + n] = (float)(g / (1.0 + exp(-g)) * u);
        }
}

enum { TEXEL_F32, TEXEL_F16 };
#define X_WG_WU 0xbu  // texel bindings: x, W_gate and W_up (h, at 2, is a storage buffer)
static const vkl_variant variants[] = {
    [TEXEL_F32] = { "texel.f32", "matmul_gemv.gate_up_texel_f32", false, X_WG_WU },
    [TEXEL_F16] = { "texel.f16", "matmul_gemv.gate_up_texel_f16", false, X_WG_WU },
};

const char *vkl_ffn_gate_up_variant(const vkl_device_info *info, uint32_t M, uint32_t K, bool f16_weights)
{
    if (M != 1 || K % (f16_weights ? 8u : 4u) != 0 || !vkl_device_prefers_texel_reads(info)) return NULL;
    return f16_weights ? "texel.f16" : "texel.f32";
}

// (M, N, K): K % 8 == 0; N not a multiple of the 4 rows per workgroup; stories260K (172 x 64),
// Llama-2-7B (11008 x 4096); several x rows.
static const uint32_t full[][3] = {
    { 1, 1, 8 }, { 1, 13, 40 }, { 1, 172, 64 }, { 1, 1001, 256 }, { 1, 11008, 4096 }, { 2, 33, 64 }, { 3, 100, 136 },
};
static const uint32_t quick[][3] = { { 1, 1, 8 }, { 1, 172, 64 }, { 3, 100, 136 } };

static void gate_up_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void gate_up_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    vkl_dtype wtype = c->variant == TEXEL_F16 ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * K, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "W_gate", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "h", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "W_up", wtype, N * K, VKL_IN, -1.0f, 1.0f };
}

static uint32_t gate_up_launch(const vkl_case *c, vkl_launch *out)
{
    struct matmul_push push = { .M = c->dims[0], .N = c->dims[1], .K = c->dims[2] };
    return vkl_matmul_texel_gemv_launch(push, (push.N + MATMUL_GATE_UP_ROWS - 1) / MATMUL_GATE_UP_ROWS, out);
}

// The device's g and u are K-term dot products: |error| <= B = f(K) sum_k |x_k w_k| each
// (host/bounds.h). silu is 1.1-Lipschitz (its derivative peaks at 1.0998), so with
// h = silu(g) u the error is at most 1.1 Bg (|u| + Bu) + |silu(g)| Bu, plus the rounding of the
// product as swiglu bounds it, ((3 + 2|g|) 2 + 8) u |h| with |g| + Bg for |g|, plus the
// smallest normal for flushed results.
static void gate_up_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    const float *x = values[0], *wg = values[1], *wu = values[3];
    ref_ffn_gate_up(values[2], x, wg, wu, M, N, K);
    double factor = vkl_sum_error_factor(K);
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < N; n++) {
            double g = 0.0, u = 0.0, abs_g = 0.0, abs_u = 0.0;
            for (uint32_t k = 0; k < K; k++) {
                double xk = x[(size_t)m * K + k];
                g += xk * wg[(size_t)n * K + k];
                u += xk * wu[(size_t)n * K + k];
                abs_g += fabs(xk * wg[(size_t)n * K + k]);
                abs_u += fabs(xk * wu[(size_t)n * K + k]);
            }
            double bg = factor * abs_g, bu = factor * abs_u, silu = g / (1.0 + exp(-g));
            double h = fabs(values[2][(size_t)m * N + n]);
            double rounding = ((3.0 + 2.0 * (fabs(g) + bg)) * 2.0 + 8.0) * VKL_F32_UNIT_ROUNDOFF * h;
            bounds[2][(size_t)m * N + n] = 1.1 * bg * (fabs(u) + bu) + fabs(silu) * bu + rounding + VKL_F32_TINY;
        }
}

static double gate_up_flops(const vkl_case *c) { return 4.0 * c->dims[0] * c->dims[1] * c->dims[2] + 5.0 * c->dims[1]; }

static double gate_up_bytes(const vkl_case *c)
{
    double M = c->dims[0], N = c->dims[1], K = c->dims[2];
    return 4.0 * M * K + 2.0 * (c->variant == TEXEL_F16 ? 2.0 : 4.0) * N * K + 4.0 * M * N;
}

// A dense model's FFN gate and up projections at decode.
static void gate_up_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[3] = { 1, b->hidden, b->dim };
    if (b->M == 1 && !b->experts && b->dim % 8 == 0) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_ffn_gate_up = {
    .name = "ffn_gate_up",
    .dim_names = { "M", "N", "K" },
    .dim_count = 3,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 4,
    .shapes = gate_up_shapes,
    .tensors = gate_up_tensors,
    .launch = gate_up_launch,
    .expect = gate_up_expect,
    .flops = gate_up_flops,
    .bytes = gate_up_bytes,
    .bench_shapes = gate_up_bench,
};
