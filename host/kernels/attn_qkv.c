// attn_qkv: the attention block's input in one dispatch (for decode; on CPU devices each
// dispatch costs 17-24 µs): q = rope(n(x) · W_qᵀ), and rope(n(x) · W_kᵀ) and n(x) · W_vᵀ
// written into the K and V caches at the rows of their positions, where n(x) = x g /
// sqrt(mean(x²) + eps) is the block's RMSNorm and rope rotates adjacent pairs of each head's
// first R values by the angle table of host/kernels/rope.c. It replaces rms_norm, three
// matmuls, rope and kv_append. CPU reference, check shapes, launch.
// Shader: shaders/matmul_gemv.comp with QKV and NORM (TEXEL or ROW_BLOCKS).
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"

#include "host/formats.h"
#include "host/kernel.h"
#include "host/kernels/attn_qkv.h"
#include "host/kernels/matmul.h"
#include "host/ref.h"
#include "shaders/matmul.h"

enum { TEXEL_F32, TEXEL_F16, ROWS_F32, ROWS_F16, QUANT_BASE };
#define X_AND_WEIGHTS 0xabu  // texel bindings: x, W_q, W_k, W_v, g (the rest are storage buffers)
// Quantized weights: a texel and a rows variant per format of host/formats/registry.h.
#define QUANT_VARIANTS(upper, lower)                                                 \
    { "texel." #lower, "matmul_gemv.qkv_texel_" #lower, false, X_AND_WEIGHTS },      \
    { "rows." #lower, "matmul_gemv.qkv_rows_" #lower, false, 0 },
static const vkl_variant variants[] = {
    [TEXEL_F32] = { "texel.f32", "matmul_gemv.qkv_texel_f32", false, X_AND_WEIGHTS },
    [TEXEL_F16] = { "texel.f16", "matmul_gemv.qkv_texel_f16", false, X_AND_WEIGHTS },
    [ROWS_F32] = { "rows.f32", "matmul_gemv.qkv_rows_f32", false, 0 },  // GPUs: storage buffers
    [ROWS_F16] = { "rows.f16", "matmul_gemv.qkv_rows_f16", false, 0 },
    VKLLM_FORMATS(QUANT_VARIANTS)
};
static bool has_f16_weights(uint32_t variant) { return variant == TEXEL_F16 || variant == ROWS_F16; }
static bool is_quant(uint32_t variant) { return variant >= QUANT_BASE; }
static vkl_dtype weight_dtype(uint32_t variant)
{
    if (is_quant(variant)) return vkl_quant_dtype((variant - QUANT_BASE) / 2);
    return has_f16_weights(variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
}

enum { DIM_M, DIM_N, DIM_NKV, DIM_K, DIM_D, DIM_R, DIM_P, DIM_C };

const char *vkl_attn_qkv_variant(const vkl_device_info *info, uint32_t M, uint32_t N, uint32_t n_kv, uint32_t K,
                                 uint32_t head_dim, bool neox, vkl_dtype weights)
{
    bool whole_blocks = N % MATMUL_GEMV_TEXEL_ROWS == 0 && n_kv % MATMUL_GEMV_TEXEL_ROWS == 0;
    bool f16_weights = weights == VKL_DTYPE_F16, texel = vkl_device_prefers_texel_reads(info);
    uint32_t vector = vkl_dtype_is_quantized(weights) ? vkl_format_of(weights)->block : f16_weights ? 8u : 4u;
    if (M != 1 || !whole_blocks || head_dim % 2 || neox || K % vector != 0) return NULL;
    if (vkl_dtype_is_quantized(weights)) return variants[QUANT_BASE + 2u * vkl_quant_index(weights) + !texel].name;
    if (texel) return f16_weights ? "texel.f16" : "texel.f32";
    return f16_weights ? "rows.f16" : NULL;  // GPUs: f32 row blocks are no faster (see vkl_matmul_variant)
}

// (M, N, N_kv, K, D, R, P, C): N and N_kv multiples of 8 (rows per workgroup), K of 8, D even:
// heads of 2, stories260K (64 over 32 heads' values, D 8, at position 37), partial rotary
// (R < D), MHA, Llama-3-8B's GQA (4096, 1024 over 4096) at the last cache row, several x rows.
static const uint32_t full[][8] = {
    { 1, 8, 8, 8, 2, 2, 0, 1 },       { 1, 64, 32, 64, 8, 8, 37, 512 },   { 1, 16, 8, 40, 8, 4, 5, 9 },
    { 1, 256, 256, 128, 64, 64, 100, 128 }, { 1, 4096, 1024, 4096, 128, 128, 4095, 4096 },
    { 2, 32, 16, 24, 16, 16, 3, 7 },  { 3, 96, 32, 136, 32, 32, 0, 3 },
};
static const uint32_t quick[][8] = { { 1, 8, 8, 8, 2, 2, 0, 1 }, { 1, 64, 32, 64, 8, 8, 37, 512 },
                                     { 3, 96, 32, 136, 32, 32, 0, 3 } };

// Quantized weights: K a multiple of the block (32 or 256; rows that do not fit are skipped).
static const uint32_t quant_full[][8] = {
    { 1, 16, 8, 96, 8, 4, 5, 9 }, { 1, 64, 32, 256, 8, 8, 37, 512 }, { 1, 256, 256, 512, 64, 64, 100, 128 },
    { 1, 128, 64, 4096, 64, 64, 4095, 4096 }, { 3, 96, 32, 256, 32, 32, 0, 3 },
};

static void qkv_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    if (!is_quant(variant)) {
        VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
        return;
    }
    // Quantized weights: the full sweep only (see matmul's quick set)
    if (!is_quick) VKL_ADD_SHAPES_BLOCKS(cases, self, variant, quant_full, DIM_K, vkl_format_of(weight_dtype(variant)));
}

static void qkv_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[DIM_M], N = c->dims[DIM_N], NKV = c->dims[DIM_NKV], K = c->dims[DIM_K];
    uint64_t C = c->dims[DIM_C];
    vkl_dtype wtype = weight_dtype(c->variant);
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * K, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "W_q", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "q", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "W_k", wtype, NKV * K, VKL_IN, -1.0f, 1.0f };
    out[4] = (vkl_tensor_desc){ "k_cache", VKL_DTYPE_F32, C * NKV, VKL_INOUT, -1.0f, 1.0f };
    out[5] = (vkl_tensor_desc){ "W_v", wtype, NKV * K, VKL_IN, -1.0f, 1.0f };
    out[6] = (vkl_tensor_desc){ "v_cache", VKL_DTYPE_F32, C * NKV, VKL_INOUT, -1.0f, 1.0f };
    out[7] = (vkl_tensor_desc){ "g", VKL_DTYPE_F32, K, VKL_IN, -2.0f, 2.0f };
    out[8] = (vkl_tensor_desc){ "pos", VKL_DTYPE_U32, 1, VKL_IN, 0.0f, 0.0f };
    out[9] = (vkl_tensor_desc){ "table", VKL_DTYPE_F32, C * c->dims[DIM_R], VKL_IN, 0.0f, 0.0f };
}

// The position, and the angle table for every cache row (base 10000); the rest uniform.
static void qkv_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[10];
    qkv_tensors(c, d);
    if (index == 8) values[0] = (float)c->dims[DIM_P];
    else if (index == 9) vkl_rope_table(values, c->dims[DIM_C], c->dims[DIM_R], &(vkl_rope_params){ .base = 10000.0f });
    else
        for (uint64_t i = 0; i < d[index].count; i++) values[i] = vkl_rng_uniform(rng, d[index].lo, d[index].hi);
}


static uint32_t qkv_launch(const vkl_case *c, vkl_launch *out)
{
    struct matmul_push push = { .M = c->dims[DIM_M], .N = c->dims[DIM_N], .K = c->dims[DIM_K], .n_kv = c->dims[DIM_NKV],
                                .eps = vkl_case_scalar(c, VKL_NORM_MATMUL_EPS_DEFAULT), .head_dim = c->dims[DIM_D],
                                .rope_dim = c->dims[DIM_R], .table_rows = c->dims[DIM_C] };
    return vkl_matmul_row_blocks_launch(push, (push.N + 2 * push.n_kv) / MATMUL_GEMV_TEXEL_ROWS, out);
}

// y = n(x) W^T exactly, with each value's bound (vkl_norm_matmul_exact). With `table`, then
// rotated as the shader does, by the table's f32 cos and sin for the row's position: with
// |c|, |s| <= 1 the pair's errors add, Ba + Bb, and the rotation's rounding as rope bounds it,
// 4u (|ya| + |yb| + Ba + Bb). Unrotated values round once: u |y|. Row m goes to row `row0` + m
// of out (the cache's row for its position, or 0 for q).
static void expect_rows(const vkl_case *c, float *const *values, uint32_t w, const float *table, uint32_t row0,
                        float *out, double *bounds, uint32_t N)
{
    uint32_t M = c->dims[DIM_M], K = c->dims[DIM_K], D = c->dims[DIM_D], R = c->dims[DIM_R];
    const double u = VKL_F32_UNIT_ROUNDOFF;
    double *y = malloc(2 * (size_t)M * N * sizeof *y), *b = y + (size_t)M * N;
    if (!y) abort();  // sizes were checked by the driver before allocating
    float eps = vkl_case_scalar(c, VKL_NORM_MATMUL_EPS_DEFAULT);
    vkl_norm_matmul_exact(values[0], values[7], eps, values[w], y, b, M, N, K,
                          vkl_format_dot_ulps(vkl_format_of(weight_dtype(c->variant))));
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < N; n++) {
            size_t i = (size_t)m * N + n, at = (size_t)(row0 + m) * N + n;
            uint32_t j = n % D;
            if (!table || j >= R) {
                out[at] = (float)y[i];
                bounds[at] = b[i] + u * fabs(y[i]);
                continue;
            }
            size_t a = i - (j & 1u);  // the pair's first value
            const float *cs = table + ((size_t)(c->dims[DIM_P] + m) * (R / 2) + j / 2) * 2;
            double value = (j & 1u) == 0 ? y[a] * cs[0] - y[a + 1] * cs[1] : y[a] * cs[1] + y[a + 1] * cs[0];
            out[at] = (float)value;
            bounds[at] = b[a] + b[a + 1] + 4.0 * u * (fabs(y[a]) + fabs(y[a + 1]) + b[a] + b[a + 1]) + VKL_F32_TINY;
        }
    free(y);
}

// Cache rows other than the step's keep their values exactly: bound 0.
static void qkv_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t NKV = c->dims[DIM_NKV], P = c->dims[DIM_P];
    for (uint64_t i = 0; i < (uint64_t)c->dims[DIM_C] * NKV; i++) bounds[4][i] = bounds[6][i] = 0.0;
    expect_rows(c, values, 1, values[9], 0, values[2], bounds[2], c->dims[DIM_N]);
    expect_rows(c, values, 3, values[9], P, values[4], bounds[4], NKV);
    expect_rows(c, values, 5, NULL, P, values[6], bounds[6], NKV);
}

static double qkv_flops(const vkl_case *c)
{
    double M = c->dims[DIM_M], rotated = (c->dims[DIM_N] + c->dims[DIM_NKV]) / c->dims[DIM_D] * c->dims[DIM_R];
    return 2.0 * M * (c->dims[DIM_N] + 2.0 * c->dims[DIM_NKV] + 2.0) * c->dims[DIM_K] + 3.0 * M * rotated;
}

static double qkv_bytes(const vkl_case *c)
{
    double M = c->dims[DIM_M], rows = c->dims[DIM_N] + 2.0 * c->dims[DIM_NKV], K = c->dims[DIM_K];
    double weights = (double)vkl_dtype_bytes(weight_dtype(c->variant), (uint64_t)rows * K);
    return 4.0 * (M + 1.0) * K + weights + 4.0 * M * (rows + c->dims[DIM_R]);
}

// A model's attention input at decode, at the last position of the context.
static void qkv_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[8] = { 1, b->dim, b->kv_heads * b->head_dim, b->dim, b->head_dim, b->head_dim, b->context - 1,
                         b->context };
    uint32_t block = is_quant(variant) ? vkl_format_of(weight_dtype(variant))->block : 8u;
    if (b->M == 1 && dims[1] % 8 == 0 && dims[2] % 8 == 0 && b->dim % block == 0 && b->head_dim % 2 == 0)
        vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_attn_qkv = {
    .name = "attn_qkv",
    .dim_names = { "M", "N", "N_kv", "K", "D", "R", "P", "C" },
    .dim_count = 8,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 10,
    .shapes = qkv_shapes,
    .tensors = qkv_tensors,
    .fill = qkv_fill,
    .launch = qkv_launch,
    .expect = qkv_expect,
    .flops = qkv_flops,
    .bytes = qkv_bytes,
    .bench_shapes = qkv_bench,
};
