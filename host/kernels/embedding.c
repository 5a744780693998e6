// embedding: y[m, :] = table[ids[m], :], out-of-range ids counted in a status word — CPU
// reference, check shapes, launch. Shader: shaders/embedding.comp, shaders/embedding.h.
#include <math.h>

#include "host/bounds.h"
#include "host/formats.h"
#include "host/kernel.h"
#include "host/kernels/embedding.h"
#include "host/ref.h"
#include "shaders/embedding.h"

uint32_t ref_embedding(float *y, const uint32_t *ids, const float *table, uint32_t M, uint32_t V, uint32_t D)
{
    // y (M, D) · ids (M) · table (V, D); returns the number of ids >= V (their rows are zero)
    uint32_t bad = 0;
    for (uint32_t m = 0; m < M; m++) {
        bool valid = ids[m] < V;
        bad += !valid;
        for (uint32_t j = 0; j < D; j++) y[(size_t)m * D + j] = valid ? table[(size_t)ids[m] * D + j] : 0.0f;
    }
    return bad;
}

enum { F32, F16, TEXEL_F32, TEXEL_F16, QUANT_BASE };
// Quantized tables: a storage and a texel variant per format of host/formats/registry.h, in
// registry order from QUANT_BASE.
#define QUANT_VARIANTS(upper, lower)                          \
    { #lower, "embedding." #lower, false, 0 },                \
    { "texel." #lower, "embedding.texel_" #lower, false, 0x2u },
static const vkl_variant variants[] = {
    [F32] = { "f32", "embedding.f32", false, 0 },
    [F16] = { "f16", "embedding.f16", false, 0 },
    [TEXEL_F32] = { "texel.f32", "embedding.texel_f32", false, 0x2u },  // the table as texels
    [TEXEL_F16] = { "texel.f16", "embedding.texel_f16", false, 0x2u },
    VKLLM_FORMATS(QUANT_VARIANTS)
};
static bool f16_table(uint32_t variant) { return variant == F16 || variant == TEXEL_F16; }
static bool is_quant(uint32_t variant) { return variant >= QUANT_BASE; }
static vkl_dtype table_dtype(uint32_t variant)
{
    if (is_quant(variant)) return vkl_quant_dtype((variant - QUANT_BASE) / 2);
    return f16_table(variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
}
// Values per invocation: a quantized variant dequantizes a unit (FORMAT_UNIT values: a block,
// or 64 or 128 values of a K-quant's 256, shaders/formats/); a texel variant whose rows fill
// whole texels copies a texel each (4 f32 or 8 f16 values), else one value.
static uint32_t values_per_invocation(const vkl_case *c)
{
    if (is_quant(c->variant)) return vkl_format_of(table_dtype(c->variant))->unit;
    uint32_t texel_values = f16_table(c->variant) ? 8 : 4;
    bool texel = c->variant == TEXEL_F32 || c->variant == TEXEL_F16;
    return texel && c->dims[2] % texel_values == 0 ? texel_values : 1;
}

const char *vkl_embedding_variant(const vkl_device_info *info, vkl_dtype table)
{
    bool texel = vkl_device_prefers_texel_reads(info);
    if (vkl_dtype_is_quantized(table)) {
        uint32_t v = QUANT_BASE + 2u * vkl_quant_index(table) + (texel ? 1u : 0u);
        return variants[v].name;
    }
    if (texel) return table == VKL_DTYPE_F16 ? "texel.f16" : "texel.f32";
    return table == VKL_DTYPE_F16 ? "f16" : "f32";
}

// (M, V, D, bad): 1, primes, stories260K (512 x 64), a 32000 vocabulary; bad = 1 puts
// out-of-range ids (V, V + 1, ..., 2^24 - 1) in some rows. Rows of one texel (D = 4 f32, 8 f16)
// and of whole f32 texels but not f16 ones (D = 4, 12).
static const uint32_t full[][4] = {
    { 1, 1, 1, 0 }, { 7, 13, 5, 1 }, { 1, 512, 64, 0 }, { 33, 512, 64, 1 }, { 5, 32000, 1000, 0 },
    { 512, 32000, 288, 1 }, { 3, 100003, 7, 1 }, { 11, 9, 12, 1 }, { 6, 5, 4, 1 }, { 9, 7, 8, 1 },
};
static const uint32_t quick[][4] = { { 1, 1, 1, 0 }, { 7, 13, 5, 1 }, { 33, 512, 64, 1 } };
// Quantized tables: D a multiple of the block (32 or 256; rows that do not fit the format are
// skipped), a single block, several, a 32000 vocabulary, a large prime one.
static const uint32_t quant_full[][4] = {
    { 1, 1, 32, 0 }, { 7, 13, 96, 1 }, { 1, 1, 256, 0 }, { 33, 512, 256, 1 }, { 5, 32000, 768, 0 },
    { 512, 1009, 512, 1 }, { 3, 100003, 256, 1 },
};
static const uint32_t quant_quick[][4] = { { 7, 13, 96, 1 }, { 9, 37, 512, 1 } };

static void embedding_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    if (!is_quant(variant)) {
        VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
        return;
    }
    const vkl_format *format = vkl_format_of(table_dtype(variant));
    if (is_quick) VKL_ADD_SHAPES_BLOCKS(cases, self, variant, quant_quick, 2, format);
    else VKL_ADD_SHAPES_BLOCKS(cases, self, variant, quant_full, 2, format);
}

static void embedding_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], V = c->dims[1], D = c->dims[2];
    out[0] = (vkl_tensor_desc){ "ids", VKL_DTYPE_U32, M, VKL_IN, 0.0f, 0.0f };
    out[1] = (vkl_tensor_desc){ "table", table_dtype(c->variant), V * D, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * D, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "status", VKL_DTYPE_U32, 1, VKL_INOUT, 0.0f, 0.0f };
}

static void embedding_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    uint32_t M = c->dims[0], V = c->dims[1], D = c->dims[2];
    if (index == 3) {
        values[0] = 0.0f;  // the host zeroes status before every dispatch
    } else if (index == 1) {
        for (uint64_t i = 0; i < (uint64_t)V * D; i++) values[i] = vkl_rng_uniform(rng, -1.0f, 1.0f);
    } else {
        static const float bad_ids[] = { 0.0f, 1.0f, 16777215.0f };  // V, V + 1, 2^24 - 1
        for (uint32_t m = 0; m < M; m++) {
            values[m] = (float)(vkl_rng_next(rng) % V);
            if (c->dims[3] && m % 5 == 2) values[m] = m % 3 == 2 ? bad_ids[2] : (float)V + bad_ids[m % 2];
        }
    }
}

static uint32_t embedding_launch(const vkl_case *c, vkl_launch *out)
{
    struct embedding_push push = { .M = c->dims[0], .V = c->dims[1], .D = c->dims[2] };
    push.groups_x = vkl_launch_items(out, (uint64_t)push.M * push.D / values_per_invocation(c), EMBEDDING_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Exact: rows are copied (f16 widens to f32 exactly; quantized rows are dequantized as the
// format's dequantize() does, to within its dequant_ulps, 0 for every format so far) and the
// status is a count. A quantized table passes only if the device's reading of the repacked
// planes gives back the file's values: the check of repack-then-dequantize.
static void embedding_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], D = c->dims[2];
    uint32_t bad = 0;
    for (uint32_t m = 0; m < M; m++) {
        uint32_t id = (uint32_t)values[0][m];
        bad += ref_embedding(values[2] + (size_t)m * D, &id, values[1], 1, c->dims[1], D);
    }
    values[3][0] = (float)bad;
    double ulps = vkl_format_of(table_dtype(c->variant))->dequant_ulps;
    for (uint64_t i = 0; i < (uint64_t)M * D; i++) bounds[2][i] = ulps * VKL_F32_UNIT_ROUNDOFF * fabs(values[2][i]);
}

static double embedding_flops(const vkl_case *c) { (void)c; return 0.0; }
static double embedding_bytes(const vkl_case *c)
{
    double row = (double)vkl_dtype_bytes(table_dtype(c->variant), c->dims[2]);
    return c->dims[0] * (4.0 + row + 4.0 * c->dims[2]);
}

static void embedding_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[4] = { b->M, b->vocab, b->dim, 0 };
    vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_embedding = {
    .name = "embedding",
    .dim_names = { "M", "V", "D", "bad" },
    .dim_count = 4,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 4,
    .shapes = embedding_shapes,
    .tensors = embedding_tensors,
    .fill = embedding_fill,
    .launch = embedding_launch,
    .expect = embedding_expect,
    .flops = embedding_flops,
    .bytes = embedding_bytes,
    .bench_shapes = embedding_bench,
};
