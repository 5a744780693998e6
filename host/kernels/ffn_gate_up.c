// ffn_gate_up: h[M,N] = silu(n(x) · Wgᵀ) ⊙ (n(x) · Wuᵀ), the first half of a SwiGLU FFN with
// its RMSNorm n(x) = x g / sqrt(mean(x²) + eps) folded in, in one dispatch (for decode: on CPU
// devices each dispatch costs 17-24 µs, and on GPUs x is read once for both matrices) — CPU
// reference, check shapes, launch.
// Shader: shaders/matmul_gemv.comp with GATE_UP and NORM (TEXEL or ROW_BLOCKS).
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"
#include "host/formats.h"
#include "host/kernel.h"
#include "host/kernels/ffn_gate_up.h"
#include "host/kernels/matmul.h"
#include "host/ref.h"
#include "shaders/matmul.h"

enum { TEXEL_F32, TEXEL_F16, ROWS_F32, ROWS_F16, QUANT_BASE };
#define X_WG_WU_G 0x1bu  // texel bindings: x, W_gate, W_up, g (h, at 2, is a storage buffer)
// Quantized weights: a texel and a rows variant per format of host/formats/registry.h.
#define QUANT_VARIANTS(upper, lower)                                                 \
    { "texel." #lower, "matmul_gemv.gate_up_texel_" #lower, false, X_WG_WU_G },      \
    { "rows." #lower, "matmul_gemv.gate_up_rows_" #lower, false, 0 },
static const vkl_variant variants[] = {
    [TEXEL_F32] = { "texel.f32", "matmul_gemv.gate_up_texel_f32", false, X_WG_WU_G },
    [TEXEL_F16] = { "texel.f16", "matmul_gemv.gate_up_texel_f16", false, X_WG_WU_G },
    [ROWS_F32] = { "rows.f32", "matmul_gemv.gate_up_rows_f32", false, 0 },  // GPUs: storage buffers
    [ROWS_F16] = { "rows.f16", "matmul_gemv.gate_up_rows_f16", false, 0 },
    VKLLM_FORMATS(QUANT_VARIANTS)
};
static bool has_f16_weights(uint32_t variant) { return variant == TEXEL_F16 || variant == ROWS_F16; }
static bool is_quant(uint32_t variant) { return variant >= QUANT_BASE; }
static vkl_dtype weight_dtype(uint32_t variant)
{
    if (is_quant(variant)) return vkl_quant_dtype((variant - QUANT_BASE) / 2);
    return has_f16_weights(variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
}

const char *vkl_ffn_gate_up_variant(const vkl_device_info *info, uint32_t M, uint32_t K, vkl_dtype weights)
{
    bool f16_weights = weights == VKL_DTYPE_F16, texel = vkl_device_prefers_texel_reads(info);
    uint32_t vector = vkl_dtype_is_quantized(weights) ? vkl_format_of(weights)->block : f16_weights ? 8u : 4u;
    if (M != 1 || K % vector != 0) return NULL;
    if (vkl_dtype_is_quantized(weights)) return variants[QUANT_BASE + 2u * vkl_quant_index(weights) + !texel].name;
    if (texel) return f16_weights ? "texel.f16" : "texel.f32";
    return f16_weights ? "rows.f16" : NULL;  // GPUs: f32 row blocks are no faster (see vkl_matmul_variant)
}

// (M, N, K): K % 8 == 0; N not a multiple of the 4 rows per workgroup; stories260K (172 x 64),
// Llama-2-7B (11008 x 4096); several x rows.
static const uint32_t full[][3] = {
    { 1, 1, 8 }, { 1, 13, 40 }, { 1, 172, 64 }, { 1, 1001, 256 }, { 1, 11008, 4096 }, { 2, 33, 64 }, { 3, 100, 136 },
};
static const uint32_t quick[][3] = { { 1, 1, 8 }, { 1, 172, 64 }, { 3, 100, 136 } };

// Storage-buffer f32 weights stay within 128 MiB per binding, the smallest
// maxStorageBufferRange seen (lavapipe): 11008 x 4096 is over it.
static bool fits_storage_f32(const uint32_t *dims) { return (uint64_t)dims[1] * dims[2] * 4u <= (128u << 20); }

// Quantized weights: K a multiple of the block (32 or 256; rows that do not fit are skipped).
static const uint32_t quant_full[][3] = {
    { 1, 13, 96 }, { 1, 1, 256 }, { 1, 172, 256 }, { 1, 1001, 768 }, { 1, 131, 4096 }, { 2, 33, 256 }, { 3, 100, 512 },
};

static void gate_up_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    if (is_quant(variant) && is_quick) return;  // quantized weights: the full sweep only (see matmul's quick set)
    if (is_quant(variant))
        VKL_ADD_SHAPES_BLOCKS(cases, self, variant, quant_full, 2, vkl_format_of(weight_dtype(variant)));
    else if (variant == ROWS_F32 && is_quick) VKL_ADD_SHAPES_IF(cases, self, variant, quick, fits_storage_f32);
    else if (variant == ROWS_F32) VKL_ADD_SHAPES_IF(cases, self, variant, full, fits_storage_f32);
    else VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void gate_up_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    vkl_dtype wtype = weight_dtype(c->variant);
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * K, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "W_gate", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "h", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "W_up", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[4] = (vkl_tensor_desc){ "g", VKL_DTYPE_F32, K, VKL_IN, -2.0f, 2.0f };
}


static uint32_t gate_up_launch(const vkl_case *c, vkl_launch *out)
{
    struct matmul_push push = { .M = c->dims[0], .N = c->dims[1], .K = c->dims[2],
                                .eps = vkl_case_scalar(c, VKL_NORM_MATMUL_EPS_DEFAULT) };
    return vkl_matmul_row_blocks_launch(push, (push.N + MATMUL_GATE_UP_ROWS - 1) / MATMUL_GATE_UP_ROWS, out);
}

// The device's g and u are normalised GEMVs, each within B of the exact value in double
// (vkl_norm_matmul_exact). silu is 1.1-Lipschitz (its derivative peaks at 1.0998), so with
// h = silu(g) u the error is at most 1.1 Bg (|u| + Bu) + |silu(g)| Bu, plus the rounding of the
// product as swiglu bounds it, ((3 + 2|g|) 2 + 8) u |h| with |g| + Bg for |g|, plus the
// smallest normal for flushed results.
static void gate_up_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    size_t n = (size_t)M * N;
    double *g = malloc(4 * n * sizeof *g), *u = g + n, *bg = u + n, *bu = bg + n;
    if (!g) abort();  // sizes were checked by the driver before allocating
    float eps = vkl_case_scalar(c, VKL_NORM_MATMUL_EPS_DEFAULT);
    double ulps = vkl_format_dot_ulps(vkl_format_of(weight_dtype(c->variant)));
    vkl_norm_matmul_exact(values[0], values[4], eps, values[1], g, bg, M, N, K, ulps);
    vkl_norm_matmul_exact(values[0], values[4], eps, values[3], u, bu, M, N, K, ulps);
    for (size_t i = 0; i < n; i++) {
        double silu = g[i] / (1.0 + exp(-g[i])), h = silu * u[i];
        values[2][i] = (float)h;
        double rounding = ((3.0 + 2.0 * (fabs(g[i]) + bg[i])) * 2.0 + 8.0) * VKL_F32_UNIT_ROUNDOFF * fabs(h);
        bounds[2][i] = 1.1 * bg[i] * (fabs(u[i]) + bu[i]) + fabs(silu) * bu[i] + rounding + VKL_F32_TINY;
    }
    free(g);
}

static double gate_up_flops(const vkl_case *c) { return 4.0 * c->dims[0] * c->dims[1] * c->dims[2] + 5.0 * c->dims[1]; }

static double gate_up_bytes(const vkl_case *c)
{
    double M = c->dims[0], N = c->dims[1], K = c->dims[2];
    return 4.0 * (M + 1.0) * K + 2.0 * (double)vkl_dtype_bytes(weight_dtype(c->variant), (uint64_t)N * K) + 4.0 * M * N;
}

// A dense model's FFN gate and up projections at decode.
static void gate_up_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[3] = { 1, b->hidden, b->dim };
    uint32_t block = is_quant(variant) ? vkl_format_of(weight_dtype(variant))->block : 8u;
    if (b->M == 1 && !b->experts && b->dim % block == 0) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_ffn_gate_up = {
    .name = "ffn_gate_up",
    .dim_names = { "M", "N", "K" },
    .dim_count = 3,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 5,
    .shapes = gate_up_shapes,
    .tensors = gate_up_tensors,
    .launch = gate_up_launch,
    .expect = gate_up_expect,
    .flops = gate_up_flops,
    .bytes = gate_up_bytes,
    .bench_shapes = gate_up_bench,
};
