// matmul: y[M,N] = x[M,K] · W[N,K]ᵀ — CPU reference, check shapes and launch.
// Shaders: shaders/matmul_gemv.comp (M = 1), shaders/matmul_gemm.comp (M > 1), shaders/matmul.h.
// The texel GEMV variants read x and W as texels, for CPU devices; the rows variants read the
// same row blocks from storage buffers, for GPUs (vkl_matmul_variant picks).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/bounds.h"
#include "host/formats.h"
#include "host/kernel.h"
#include "host/kernels/matmul.h"
#include "host/ref.h"
#include "shaders/matmul.h"

void ref_matmul(float *y, const float *x, const float *w, uint32_t M, uint32_t N, uint32_t K)
{
    // y (M, N) · x (M, K) · w (N, K)
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t n = 0; n < N; n++) {
            double acc = 0.0;
            for (uint32_t k = 0; k < K; k++) acc += (double)x[(size_t)m * K + k] * w[(size_t)n * K + k];
            y[(size_t)m * N + n] = (float)acc;
        }
    }
}

enum { GEMV_F32, GEMV_F16, GEMM_F32, GEMM_F16, GEMV_TEXEL_F32, GEMV_TEXEL_F16, GEMM_TEXEL_F32, GEMM_TEXEL_F16,
       GEMV_ADD_F32, GEMV_ADD_F16, GEMV_TEXEL_ADD_F32, GEMV_TEXEL_ADD_F16, GEMV_ROWS_F32, GEMV_ROWS_F16,
       GEMV_ROWS_ADD_F32, GEMV_ROWS_ADD_F16, GEMM_LARGE_F32, GEMM_LARGE_F16, FAULT_DROP_TERM, QUANT_BASE };

// Quantized weights: Q_KINDS variants per format of host/formats/registry.h, in registry order
// from QUANT_BASE, generated from the registry: the row-block GEMVs (texel and storage, plain and
// with the residual add) and the row-block GEMMs (texel, and storage for GPUs).
enum { Q_GEMV_TEXEL, Q_GEMM_TEXEL, Q_GEMV_TEXEL_ADD, Q_GEMV_ROWS, Q_GEMV_ROWS_ADD, Q_GEMM_ROWS, Q_KINDS };
#define QUANT_VARIANTS(upper, lower)                                                   \
    { "gemv_texel." #lower, "matmul_gemv.texel_" #lower, false, X_AND_W },             \
    { "gemm_texel." #lower, "matmul_gemv.gemm_texel_" #lower, false, X_AND_W },        \
    { "gemv_texel_add." #lower, "matmul_gemv.texel_add_" #lower, false, X_AND_W },     \
    { "gemv_rows." #lower, "matmul_gemv.rows_" #lower, false, 0 },                     \
    { "gemv_rows_add." #lower, "matmul_gemv.rows_add_" #lower, false, 0 },             \
    { "gemm_rows." #lower, "matmul_gemv.gemm_rows_" #lower, false, 0 },

#define X_AND_W 0x3u  // texel bindings: x and W

static const vkl_variant variants[] = {
    [GEMV_F32] = { "gemv.f32", "matmul_gemv.f32", false, 0 },
    [GEMV_F16] = { "gemv.f16", "matmul_gemv.f16", false, 0 },
    [GEMM_F32] = { "gemm.f32", "matmul_gemm.f32", false, 0 },
    [GEMM_F16] = { "gemm.f16", "matmul_gemm.f16", false, 0 },
    [GEMV_TEXEL_F32] = { "gemv_texel.f32", "matmul_gemv.texel_f32", false, X_AND_W },
    [GEMV_TEXEL_F16] = { "gemv_texel.f16", "matmul_gemv.texel_f16", false, X_AND_W },
    [GEMM_TEXEL_F32] = { "gemm_texel.f32", "matmul_gemv.gemm_texel_f32", false, X_AND_W },
    [GEMM_TEXEL_F16] = { "gemm_texel.f16", "matmul_gemv.gemm_texel_f16", false, X_AND_W },
    [GEMV_ADD_F32] = { "gemv_add.f32", "matmul_gemv.add_f32", false, 0 },
    [GEMV_ADD_F16] = { "gemv_add.f16", "matmul_gemv.add_f16", false, 0 },
    [GEMV_TEXEL_ADD_F32] = { "gemv_texel_add.f32", "matmul_gemv.texel_add_f32", false, X_AND_W },
    [GEMV_TEXEL_ADD_F16] = { "gemv_texel_add.f16", "matmul_gemv.texel_add_f16", false, X_AND_W },
    [GEMV_ROWS_F32] = { "gemv_rows.f32", "matmul_gemv.rows_f32", false, 0 },
    [GEMV_ROWS_F16] = { "gemv_rows.f16", "matmul_gemv.rows_f16", false, 0 },
    [GEMV_ROWS_ADD_F32] = { "gemv_rows_add.f32", "matmul_gemv.rows_add_f32", false, 0 },
    [GEMV_ROWS_ADD_F16] = { "gemv_rows_add.f16", "matmul_gemv.rows_add_f16", false, 0 },
    [GEMM_LARGE_F32] = { "gemm_large.f32", "matmul_gemm.large_f32", false, 0 },
    [GEMM_LARGE_F16] = { "gemm_large.f16", "matmul_gemm.large_f16", false, 0 },
    [FAULT_DROP_TERM] = { "fault_drop_term", "matmul_gemv.fault_drop_term", true, 0 },
    VKLLM_FORMATS(QUANT_VARIANTS)
};

static bool is_quant(uint32_t variant) { return variant >= QUANT_BASE; }
static uint32_t quant_kind(uint32_t variant) { return is_quant(variant) ? (variant - QUANT_BASE) % Q_KINDS : Q_KINDS; }
static vkl_dtype weight_dtype(uint32_t variant);
static bool is_quant_kind(uint32_t variant, uint32_t kind) { return quant_kind(variant) == kind; }

static bool is_gemm_texel(uint32_t variant)
{
    return variant == GEMM_TEXEL_F32 || variant == GEMM_TEXEL_F16 || is_quant_kind(variant, Q_GEMM_TEXEL);
}
static bool is_gemm_rows(uint32_t variant) { return is_quant_kind(variant, Q_GEMM_ROWS); }
static bool is_gemm_large(uint32_t variant) { return variant == GEMM_LARGE_F32 || variant == GEMM_LARGE_F16; }
static bool is_gemv(uint32_t variant)
{
    return variant != GEMM_F32 && variant != GEMM_F16 && !is_gemm_texel(variant) && !is_gemm_large(variant) &&
           !is_gemm_rows(variant);
}
static bool is_texel(uint32_t variant)
{
    return (variant >= GEMV_TEXEL_F32 && variant <= GEMM_TEXEL_F16) || variant == GEMV_TEXEL_ADD_F32 ||
           variant == GEMV_TEXEL_ADD_F16 || quant_kind(variant) <= Q_GEMV_TEXEL_ADD;
}
static bool is_rows(uint32_t variant)
{
    return (variant >= GEMV_ROWS_F32 && variant <= GEMV_ROWS_ADD_F16) || is_quant_kind(variant, Q_GEMV_ROWS) ||
           is_quant_kind(variant, Q_GEMV_ROWS_ADD);
}
// The GEMVs of matmul_gemv.comp's row blocks (texel or rows): K a multiple of the weight vector.
static bool is_row_blocks(uint32_t variant) { return (is_texel(variant) && !is_gemm_texel(variant)) || is_rows(variant); }
static bool is_residual(uint32_t variant)
{
    return (variant >= GEMV_ADD_F32 && variant <= GEMV_TEXEL_ADD_F16) || variant == GEMV_ROWS_ADD_F32 ||
           variant == GEMV_ROWS_ADD_F16 || is_quant_kind(variant, Q_GEMV_TEXEL_ADD) ||
           is_quant_kind(variant, Q_GEMV_ROWS_ADD);
}
static bool has_f16_weights(uint32_t variant)
{
    return variant == GEMV_F16 || variant == GEMM_F16 || variant == GEMV_TEXEL_F16 || variant == GEMM_TEXEL_F16 ||
           variant == GEMV_ADD_F16 || variant == GEMV_TEXEL_ADD_F16 || variant == GEMV_ROWS_F16 ||
           variant == GEMV_ROWS_ADD_F16 || variant == GEMM_LARGE_F16;
}

static vkl_dtype weight_dtype(uint32_t variant)
{
    if (is_quant(variant)) return vkl_quant_dtype((variant - QUANT_BASE) / Q_KINDS);
    return has_f16_weights(variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
}

// Quantized weights: the row blocks, through texels on CPU devices and storage buffers on GPUs;
// NULL where K is not a whole number of the format's blocks.
static const char *quant_variant(const vkl_device_info *info, uint32_t M, uint32_t K, vkl_dtype dtype, bool residual)
{
    const vkl_format *f = vkl_format_of(dtype);
    if (K % f->block || (residual && M > 1)) return NULL;
    bool texel = vkl_device_prefers_texel_reads(info);
    uint32_t kind = M > 1 ? (texel ? Q_GEMM_TEXEL : Q_GEMM_ROWS)
                  : residual ? (texel ? Q_GEMV_TEXEL_ADD : Q_GEMV_ROWS_ADD) : (texel ? Q_GEMV_TEXEL : Q_GEMV_ROWS);
    uint32_t v = QUANT_BASE + vkl_quant_index(dtype) * Q_KINDS + kind;
    return variants[v].name;
}

const char *vkl_matmul_variant_typed(const vkl_device_info *info, uint32_t M, uint32_t K, vkl_dtype dtype, bool residual)
{
    if (vkl_dtype_is_quantized(dtype)) return quant_variant(info, M, K, dtype, residual);
    return vkl_matmul_variant(info, M, K, dtype == VKL_DTYPE_F16, residual);
}

const char *vkl_matmul_variant(const vkl_device_info *info, uint32_t M, uint32_t K, bool f16_weights, bool residual)
{
    bool vectors = K % (f16_weights ? 8u : 4u) == 0;  // rows start on 16-byte vectors
    bool texel = vectors && vkl_device_prefers_texel_reads(info);
    // GPUs: row blocks for f16 weights only. On an H100 they beat one workgroup per output by
    // 6-35 % with f16 weights, but f32 rows ran at best even and at worst half the speed
    // (benchmarks/results/nvidia-h100/decode-kernels.md); the f32 rows variants stay for that
    // comparison.
    bool rows = vectors && !texel && f16_weights;
    if (residual && M > 1) return NULL;
    if (residual && texel) return f16_weights ? "gemv_texel_add.f16" : "gemv_texel_add.f32";
    if (residual && rows) return "gemv_rows_add.f16";
    if (residual) return f16_weights ? "gemv_add.f16" : "gemv_add.f32";
    if (M > 1 && texel) return f16_weights ? "gemm_texel.f16" : "gemm_texel.f32";
    // GPUs: 128 x 128 tiles once M and K are large. On an H100 at M = 512 they beat the 64 x 64
    // tiles at every Llama shape with K >= 4096 but Llama-3-8B's 1,024-row K/V projections with
    // f16 weights (439 -> 668 us), and lost at TinyLlama's K = 2048 and with stories260K
    // (benchmarks/results/nvidia-h100/gemm.md). N is not known here.
    if (M >= 256 && K >= 4096) return f16_weights ? "gemm_large.f16" : "gemm_large.f32";
    if (M > 1) return f16_weights ? "gemm.f16" : "gemm.f32";
    if (texel) return f16_weights ? "gemv_texel.f16" : "gemv_texel.f32";
    if (rows) return "gemv_rows.f16";
    return f16_weights ? "gemv.f16" : "gemv.f32";
}

// (M, N, K). Sizes 1, primes and non-multiples of the tiles (64 x 64 x 16) and of the vector
// width (4 or 8) sit beside model shapes: stories260K (64, 172, 512), Llama-2-7B (4096, 11008),
// Llama-3-8B FFN K = 14336, vocabulary N = 32000. Each binding stays under 128 MiB, the
// smallest maxStorageBufferRange seen (lavapipe).
static const uint32_t gemv_full[][3] = {
    { 1, 1, 1 }, { 1, 1, 7 }, { 1, 3, 5 }, { 1, 17, 33 }, { 1, 64, 64 }, { 1, 127, 129 },
    { 1, 172, 64 }, { 1, 512, 64 }, { 1, 1000, 1023 }, { 1, 4099, 256 }, { 1, 4096, 4096 },
    { 1, 1024, 14336 }, { 1, 1531, 11008 }, { 1, 32000, 512 }, { 1, 65537, 8 },
    { 2, 33, 64 }, { 3, 257, 129 },
};
static const uint32_t gemv_quick[][3] = {
    { 1, 1, 1 }, { 1, 17, 33 }, { 1, 127, 129 }, { 1, 512, 64 }, { 1, 1000, 1024 }, { 3, 33, 64 },
};
static const uint32_t gemm_full[][3] = {
    { 2, 1, 1 }, { 2, 3, 5 }, { 7, 13, 17 }, { 33, 65, 31 }, { 64, 64, 64 }, { 65, 97, 129 },
    { 5, 172, 64 }, { 128, 256, 512 }, { 257, 300, 1000 }, { 31, 32000, 64 }, { 3, 512, 14336 },
    { 512, 512, 512 }, { 512, 1031, 1024 }, { 127, 2048, 2048 },
};
static const uint32_t gemm_quick[][3] = {
    { 2, 3, 5 }, { 33, 65, 31 }, { 65, 97, 129 }, { 128, 256, 512 },
};
static const uint32_t fault_shapes[][3] = { { 1, 9, 64 } };
// The row blocks (texel and rows variants) need K % 8 == 0 (f16) or 4 (f32): rows of N not a
// multiple of the rows per workgroup (8), K below and above one pass of the workgroup (8
// vectors for texels, 128 for rows), several x rows.
static const uint32_t texel_full[][3] = {
    { 1, 1, 8 }, { 1, 3, 16 }, { 1, 17, 40 }, { 1, 64, 64 }, { 1, 127, 136 }, { 1, 172, 64 }, { 1, 64, 176 },
    { 1, 512, 64 }, { 1, 1001, 1024 }, { 1, 4099, 256 }, { 1, 4096, 4096 }, { 1, 1024, 14336 },
    { 1, 1531, 11008 }, { 1, 32000, 512 }, { 1, 65537, 8 }, { 2, 33, 64 }, { 3, 257, 136 },
};
static const uint32_t texel_quick[][3] = {
    { 1, 1, 8 }, { 1, 17, 40 }, { 1, 127, 136 }, { 1, 512, 64 }, { 1, 1001, 1024 }, { 3, 33, 64 },
};
// M not a multiple of the x rows per workgroup (4), N not of the rows (8).
static const uint32_t gemm_texel_full[][3] = {
    { 2, 1, 8 }, { 2, 3, 16 }, { 7, 13, 24 }, { 33, 65, 40 }, { 64, 64, 64 }, { 65, 97, 136 }, { 5, 172, 64 },
    { 128, 256, 512 }, { 257, 300, 1000 }, { 31, 32000, 64 }, { 3, 512, 14336 }, { 512, 512, 512 }, { 127, 2048, 2048 },
};
static const uint32_t gemm_texel_quick[][3] = { { 2, 3, 16 }, { 33, 65, 40 }, { 65, 97, 136 }, { 128, 256, 512 } };

// Quantized weights: K a multiple of the block (32, or 256 for the K-quants; rows below keep the
// ones that fit the format): one block, blocks not a multiple of a workgroup's pass, model rows
// (Llama-2-7B's 11008 = 43 x 256, Llama-3's 14336), N prime and past the rows per workgroup,
// several x rows. Few rows at the long K: the f32 and f16 tables time the large model shapes
// through the same loops, and lavapipe reads the storage variants lane by lane. The quick set: three awkward shapes.
static const uint32_t quant_gemv_full[][3] = {
    { 1, 1, 32 }, { 1, 5, 96 }, { 1, 1, 256 }, { 1, 17, 512 }, { 1, 127, 768 }, { 1, 64, 2304 },
    { 1, 4099, 256 }, { 1, 64, 14336 }, { 1, 131, 11008 }, { 1, 65537, 32 }, { 2, 33, 1024 }, { 3, 257, 256 },
};
static const uint32_t quant_gemv_quick[][3] = { { 1, 5, 96 }, { 1, 37, 256 }, { 3, 17, 512 } };
static const uint32_t quant_gemm_full[][3] = {
    { 2, 3, 32 }, { 2, 3, 256 }, { 7, 13, 160 }, { 33, 65, 512 }, { 65, 97, 768 }, { 128, 256, 512 },
    { 257, 300, 1024 }, { 31, 1031, 256 }, { 3, 64, 14336 }, { 127, 129, 2048 },
};

#define ADD_QUANT_SHAPES(table) \
    VKL_ADD_SHAPES_BLOCKS(cases, self, variant, table, 2, vkl_format_of(weight_dtype(variant)))

static void matmul_shapes(const vkl_kernel *self, uint32_t variant, bool quick, vkl_case **cases)
{
    // Quantized weights: the quick set checks each format's dequantization through the plain
    // GEMVs of both read paths (at every subgroup size in the tests); the other kinds run in the
    // full sweep. Their pipelines are what costs: llvmpipe compiles all quantized variants in
    // about 4 minutes, the quick ones in under one.
    bool plain_gemv = is_quant_kind(variant, Q_GEMV_TEXEL) || is_quant_kind(variant, Q_GEMV_ROWS);
    if (is_quant(variant) && quick && !plain_gemv) return;
    if (is_quant(variant) && is_gemv(variant)) {
        if (quick || is_residual(variant)) ADD_QUANT_SHAPES(quant_gemv_quick);
        else ADD_QUANT_SHAPES(quant_gemv_full);
    } else if (is_quant(variant)) {
        ADD_QUANT_SHAPES(quant_gemm_full);
    } else if (variant == FAULT_DROP_TERM) VKL_ADD_SHAPES(cases, self, variant, fault_shapes);
    else if (is_residual(variant) && is_row_blocks(variant))
        VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, texel_quick, texel_quick);
    else if (is_residual(variant)) VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, gemv_quick, gemv_quick);
    else if (is_gemm_texel(variant)) VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, gemm_texel_quick, gemm_texel_full);
    else if (is_row_blocks(variant)) VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, texel_quick, texel_full);
    else if (is_gemv(variant) && quick) VKL_ADD_SHAPES(cases, self, variant, gemv_quick);
    else if (is_gemv(variant)) VKL_ADD_SHAPES(cases, self, variant, gemv_full);
    else if (quick) VKL_ADD_SHAPES(cases, self, variant, gemm_quick);
    else VKL_ADD_SHAPES(cases, self, variant, gemm_full);
}

static void matmul_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    vkl_dtype wtype = weight_dtype(c->variant);
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * K, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "W", wtype, N * K, VKL_IN, -1.0f, 1.0f };
    out[2] = is_residual(c->variant) ? (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_INOUT, -1.0f, 1.0f }
                                     : (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
}

uint32_t vkl_matmul_row_blocks_launch(struct matmul_push push, uint32_t row_blocks, vkl_launch *out)
{
    vkl_split_groups(row_blocks, &out->groups[0], &out->groups[1]);
    out->groups[2] = push.M;
    out->spec0_subgroup_min = true;  // the shader drops its cross-subgroup step when it cannot happen
    push.groups_x = out->groups[0];
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

static uint32_t matmul_launch(const vkl_case *c, vkl_launch *out)
{
    struct matmul_push push = { .M = c->dims[0], .N = c->dims[1], .K = c->dims[2] };
    if (is_row_blocks(c->variant)) {
        uint32_t rows = is_texel(c->variant) ? MATMUL_GEMV_TEXEL_ROWS : MATMUL_GEMV_ROWS_ROWS;
        return vkl_matmul_row_blocks_launch(push, (push.N + rows - 1) / rows, out);
    }
    if (is_quant(c->variant) && !is_gemv(c->variant)) {  // matmul_gemv.comp's GEMM_TEXEL tiles (texel or storage)
        out->spec0_subgroup_min = true;
        out->groups[0] = (push.M + MATMUL_GEMM_QUANT_MT - 1) / MATMUL_GEMM_QUANT_MT;
        out->groups[1] = (push.N + MATMUL_GEMV_TEXEL_ROWS - 1) / MATMUL_GEMV_TEXEL_ROWS;
        out->groups[2] = 1;
        vkl_launch_set_push(out, &push, sizeof push);
        return 1;
    }
    out->spec0_subgroup_min = is_gemm_texel(c->variant);
    if (is_gemm_texel(c->variant)) {
        out->groups[0] = (push.M + MATMUL_GEMM_TEXEL_MT - 1) / MATMUL_GEMM_TEXEL_MT;
        out->groups[1] = (push.N + MATMUL_GEMM_TEXEL_ROWS - 1) / MATMUL_GEMM_TEXEL_ROWS;
        out->groups[2] = 1;
    } else if (is_gemv(c->variant)) {
        vkl_split_groups(push.N, &out->groups[0], &out->groups[1]);
        out->groups[2] = push.M;
    } else {
        uint32_t bn = is_gemm_large(c->variant) ? MATMUL_GEMM_LARGE_BN : MATMUL_GEMM_BN;
        uint32_t bm = is_gemm_large(c->variant) ? MATMUL_GEMM_LARGE_BM : MATMUL_GEMM_BM;
        out->groups[0] = (push.N + bn - 1) / bn;
        out->groups[1] = (push.M + bm - 1) / bm;
        out->groups[2] = 1;
    }
    push.groups_x = out->groups[0];
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Bound per element: the dot-product bound of host/bounds.h with n = K over sum_k |x_k w_k|
// (f16 weights are exact in f32, and the reference sees the same rounded weights; quantized
// weights are the format's dequantize() values, which the device reproduces to within
// weight_ulps u |w_k| each: host/formats.h's vkl_format_dot_ulps, its dequant_ulps and, where the
// kernel multiplies by a sub-block's scale after the sub-block's dot product, u for that
// rounding, which each term of the sub-block shares: weight_ulps u sum_k |x_k w_k| more), plus u|y|
// for rounding the double reference to f32, plus the smallest normal for flushed subnormals.
// The residual variants (y += x W^T) round once more, adding the residual: u|y| more, with
// u|x W^T| for the f32 product their reference starts from (it may exceed |y| by cancellation).
void vkl_matmul_expect(const float *x, const float *w, const float *residual, float *y, double *bounds, uint32_t M,
                       uint32_t N, uint32_t K, double weight_ulps)
{
    ref_matmul(y, x, w, M, N, K);
    float *abs_x = malloc((size_t)M * K * sizeof *abs_x), *abs_w = malloc((size_t)N * K * sizeof *abs_w);
    float *abs_sum = malloc((size_t)M * N * sizeof *abs_sum);
    if (!abs_x || !abs_w || !abs_sum) abort();  // sizes were checked by the driver before allocating
    for (size_t i = 0; i < (size_t)M * K; i++) abs_x[i] = fabsf(x[i]);
    for (size_t i = 0; i < (size_t)N * K; i++) abs_w[i] = fabsf(w[i]);
    ref_matmul(abs_sum, abs_x, abs_w, M, N, K);
    double factor = vkl_sum_error_factor(K) + weight_ulps * VKL_F32_UNIT_ROUNDOFF;
    for (size_t i = 0; i < (size_t)M * N; i++) {
        double product = y[i], sum = product + (residual ? residual[i] : 0.0);
        if (residual) y[i] = (float)sum;
        double rounding = fabs(product) + (residual ? fabs(sum) : 0.0);
        bounds[i] = factor * abs_sum[i] + VKL_F32_UNIT_ROUNDOFF * rounding + VKL_F32_TINY;
    }
    free(abs_x);
    free(abs_w);
    free(abs_sum);
}

// The device computes y = (sum_k w_k fl(x_k g_k)) rho with rho = inversesqrt(fl(sum_k x_k^2) / K
// + eps). The dot product over A = sum_k |w_k x_k g_k| errs by f(K) A (host/bounds.h) and the
// products x_k g_k by u A; rho's sum of squares (positive terms) by f(K) relative, which the
// square root halves, the division and eps 2u, inversesqrt's 2 ulp 4u; the scaling one more u.
// So |error| <= (f(K) + u) A rho + (f(K) / 2 + 7u) |y| + the smallest normal, and with quantized
// weights reproduced to within weight_ulps u |w_k| (host/formats.h), weight_ulps u A rho more.
void vkl_norm_matmul_exact(const float *x, const float *g, float eps, const float *w, double *y, double *bounds,
                           uint32_t M, uint32_t N, uint32_t K, double weight_ulps)
{
    const double u = VKL_F32_UNIT_ROUNDOFF, factor = vkl_sum_error_factor(K) + weight_ulps * u;
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * K;
        double sum_sq = 0.0;
        for (uint32_t k = 0; k < K; k++) sum_sq += (double)row[k] * row[k];
        double rho = 1.0 / sqrt(sum_sq / K + eps);
        for (uint32_t n = 0; n < N; n++) {
            double dot = 0.0, abs_dot = 0.0;
            for (uint32_t k = 0; k < K; k++) {
                double t = (double)w[(size_t)n * K + k] * row[k] * g[k];
                dot += t;
                abs_dot += fabs(t);
            }
            size_t i = (size_t)m * N + n;
            y[i] = dot * rho;
            bounds[i] = (factor + u) * abs_dot * rho + (0.5 * factor + 7.0 * u) * fabs(y[i]) + VKL_F32_TINY;
        }
    }
}

static void matmul_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], N = c->dims[1], K = c->dims[2];
    float *residual = NULL;  // the residual variants' y comes in holding it
    if (is_residual(c->variant)) {
        residual = malloc((size_t)M * N * sizeof *residual);
        if (!residual) abort();  // sizes were checked by the driver before allocating
        memcpy(residual, values[2], (size_t)M * N * sizeof *residual);
    }
    vkl_matmul_expect(values[0], values[1], residual, values[2], bounds[2], M, N, K,
                      vkl_format_dot_ulps(vkl_format_of(weight_dtype(c->variant))));
    free(residual);
}

static double matmul_flops(const vkl_case *c) { return 2.0 * c->dims[0] * c->dims[1] * c->dims[2]; }

static double matmul_bytes(const vkl_case *c)
{
    double M = c->dims[0], N = c->dims[1], K = c->dims[2];
    double y_passes = is_residual(c->variant) ? 2.0 : 1.0;  // the residual is read, then written
    return 4.0 * M * K + (double)vkl_dtype_bytes(weight_dtype(c->variant), (uint64_t)N * K) + 4.0 * y_passes * M * N;
}

// A model's projections: Q and O (dim x dim), K and V, the FFN (or the MoE router), the
// classifier; GEMV variants for decode, GEMM for prefill batches.
static void matmul_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    if (is_gemv(variant) != (b->M == 1)) return;
    uint32_t vec = is_quant(variant) ? vkl_format_of(weight_dtype(variant))->block : has_f16_weights(variant) ? 8u : 4u;
    uint32_t kv = b->kv_heads * b->head_dim;
    uint32_t shapes[6][3] = { { b->M, b->dim, b->dim }, { b->M, kv, b->dim }, { b->M, b->hidden, b->dim },
                              { b->M, b->dim, b->hidden }, { 1, b->vocab, b->dim }, { b->M, b->experts, b->dim } };
    for (uint32_t i = 0; i < 6; i++) {
        bool ffn = i == 2 || i == 3, router = i == 5;
        if ((b->experts && ffn) || (!b->experts && router) || (i == 4 && b->M != 1)) continue;
        if ((is_texel(variant) || is_rows(variant) || is_quant(variant)) && shapes[i][2] % vec) continue;
        if (is_residual(variant) && i != 0 && i != 3) continue;  // the projections before a residual add
        vkl_case_add(cases, self, variant, shapes[i]);
    }
}

const vkl_kernel vkl_kernel_matmul = {
    .name = "matmul",
    .dim_names = { "M", "N", "K" },
    .dim_count = 3,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = matmul_shapes,
    .tensors = matmul_tensors,
    .launch = matmul_launch,
    .expect = matmul_expect,
    .flops = matmul_flops,
    .bytes = matmul_bytes,
    .bench_shapes = matmul_bench,
};
