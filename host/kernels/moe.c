// moe: a whole Mixtral-style MoE FFN block on the device after the router matmul (a plain
// matmul, so the block's inputs are the router logits) — moe_route, moe_count, grouped gate and
// up matmuls, swiglu, grouped down matmul, moe_combine — checked end to end against the CPU
// reference of the block. Device and reference route the same f32 logits, so they choose the
// same experts, ties included (to the lower index).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/bounds.h"
#include "host/formats.h"
#include "host/kernel.h"
#include "host/kernels/moe.h"
#include "host/ref.h"
#include "shaders/elementwise.h"
#include "shaders/matmul.h"
#include "shaders/moe.h"

// One expert's SwiGLU FFN on one token, in double.  y (D) · x (D) · gate, up (F, D) · down (D, F)
static void expert_ffn(double *y, const float *x, const float *gate, const float *up, const float *down, uint32_t D,
                       uint32_t F, double *h)
{
    for (uint32_t f = 0; f < F; f++) {
        double g = 0.0, u = 0.0;
        for (uint32_t d = 0; d < D; d++) {
            g += (double)x[d] * gate[(size_t)f * D + d];
            u += (double)x[d] * up[(size_t)f * D + d];
        }
        h[f] = g / (1.0 + exp(-g)) * u;
    }
    for (uint32_t d = 0; d < D; d++) {
        double acc = 0.0;
        for (uint32_t f = 0; f < F; f++) acc += h[f] * down[(size_t)d * F + f];
        y[d] = acc;
    }
}

void ref_moe(float *out, uint32_t *ids, float *weights, const float *x, const float *logits, const float *w_gate,
             const float *w_up, const float *w_down, uint32_t T, uint32_t D, uint32_t F, uint32_t E, uint32_t k,
             bool renorm, double scale)
{
    // out (T, D) · ids, weights (T, k) · x (T, D) · logits (T, E) · w_gate, w_up (E, F, D) · w_down (E, D, F)
    float *probs = malloc((size_t)T * E * sizeof *probs);
    double *h = malloc(F * sizeof *h), *y = malloc(D * sizeof *y), *acc = malloc(D * sizeof *acc);
    if (!probs || !h || !y || !acc) abort();
    ref_moe_route(probs, ids, weights, logits, T, E, k, renorm, scale);
    for (uint32_t t = 0; t < T; t++) {
        memset(acc, 0, D * sizeof *acc);
        for (uint32_t j = 0; j < k; j++) {
            size_t e = ids[(size_t)t * k + j];
            expert_ffn(y, x + (size_t)t * D, w_gate + e * F * D, w_up + e * F * D, w_down + e * D * F, D, F, h);
            for (uint32_t d = 0; d < D; d++) acc[d] += (double)weights[(size_t)t * k + j] * y[d];
        }
        for (uint32_t d = 0; d < D; d++) out[(size_t)t * D + d] = (float)acc[d];
    }
    free(probs);
    free(h);
    free(y);
    free(acc);
}

// Texel variants (CPU devices): the grouped matmuls read x and W through texels
// (matmul_gemv.comp, MOE_GROUPED), over tiles of MATMUL_MOE_TEXEL_MT rows, or of one row for
// a single token (decode), and gate, up and swiglu are one dispatch: 5 dispatches instead of 7.
// The f32 and f16 variants (GPUs) do the same for a single token, reading storage buffers
// (ROW_BLOCKS), where D and F fill whole vectors; batches take the tiled grouped GEMM.
// Quantized experts (a storage and a texel variant per format of host/formats/registry.h) always
// take the row blocks, batches on GPUs in tiles of MATMUL_MOE_TEXEL_MT rows from storage buffers.
enum { F32, F16, TEXEL_F32, TEXEL_F16, QUANT_BASE };
#define QUANT_VARIANTS(upper, lower)                   \
    { #lower, "moe_route.default", false },            \
    { "texel_" #lower, "moe_route.default", false },
static const vkl_variant variants[] = {
    [F32] = { "f32", "moe_route.default", false },  // the first dispatch names its own shader
    [F16] = { "f16", "moe_route.default", false },
    [TEXEL_F32] = { "texel_f32", "moe_route.default", false },
    [TEXEL_F16] = { "texel_f16", "moe_route.default", false },
    VKLLM_FORMATS(QUANT_VARIANTS)
};

static bool is_quant(uint32_t variant) { return variant >= QUANT_BASE; }
static bool is_texel(uint32_t variant)
{
    return variant == TEXEL_F32 || variant == TEXEL_F16 || (is_quant(variant) && (variant - QUANT_BASE) % 2 == 1);
}
static bool has_f16_weights(uint32_t variant) { return variant == F16 || variant == TEXEL_F16; }
static vkl_dtype weight_dtype(uint32_t variant)
{
    if (is_quant(variant)) return vkl_quant_dtype((variant - QUANT_BASE) / 2);
    return has_f16_weights(variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
}
// The row blocks (texel or storage reads) start every row of x, hidden and W on a 16-byte
// vector: D and F multiples of the values per weight vector (of the block, quantized).
static bool rows_fit(uint32_t D, uint32_t F, vkl_dtype weights)
{
    uint32_t vec = vkl_dtype_is_quantized(weights) ? vkl_format_of(weights)->block : weights == VKL_DTYPE_F16 ? 8u : 4u;
    return D % vec == 0 && F % vec == 0;
}

const char *vkl_moe_variant(const vkl_device_info *info, uint32_t D, uint32_t F, vkl_dtype weights, vkl_dtype down)
{
    bool f16_weights = weights == VKL_DTYPE_F16, texel = vkl_device_prefers_texel_reads(info);
    if (down != weights && !(vkl_dtype_is_quantized(weights) && vkl_dtype_is_quantized(down))) return NULL;
    // gate and up read rows of D values in their format, down rows of F in its own
    if (vkl_dtype_is_quantized(weights))
        return D % vkl_format_of(weights)->block == 0 && F % vkl_format_of(down)->block == 0
                   ? variants[QUANT_BASE + 2u * vkl_quant_index(weights) + texel].name
                   : NULL;
    if (rows_fit(D, F, weights) && texel) return f16_weights ? "texel_f16" : "texel_f32";
    return f16_weights ? "f16" : "f32";
}

enum { DIM_T, DIM_D, DIM_F, DIM_E, DIM_K, DIM_RENORM, DIM_MODE, DIM_DOWN };
// DIM_DOWN: the down experts' format where it differs from gate and up's, as its GGUF type id
// (14: Q6_K; 0: the variant's). llama.cpp's Q4_K_M gives ffn_down more bits than gate and up
// in some layers. Only quantized formats mix (vkl_moe_variant).
static vkl_dtype down_dtype(const vkl_case *c)
{
    const vkl_format *down = c->dims[DIM_DOWN] ? vkl_format_from_ggml(c->dims[DIM_DOWN]) : NULL;
    return down ? down->dtype : weight_dtype(c->variant);
}
enum { MODE_LEVELS, MODE_TIED };  // router logits on 7 integer levels (ties common) or all zero (all tied)
// The grouped matmuls go through matmul_gemv.comp's row blocks (else matmul_gemm.comp's tiles).
static bool row_blocks(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    return is_texel(c->variant) || is_quant(c->variant) ||
           (d[DIM_T] == 1 && rows_fit(d[DIM_D], d[DIM_F], weight_dtype(c->variant)));
}
// Rows per tile of the grouped matmuls (see moe_count).
static uint32_t tile_rows(const vkl_case *c)
{
    if (!row_blocks(c)) return MATMUL_GEMM_BM;
    return c->dims[DIM_T] == 1 ? 1 : MATMUL_MOE_TEXEL_MT;
}
static uint32_t max_tiles(const vkl_case *c)
{
    return vkl_moe_max_tiles(c->dims[DIM_T], c->dims[DIM_K], c->dims[DIM_E], tile_rows(c));
}

// (T, D, F, E, k, renorm, mode): stories260K widths with 4 experts, Mixtral (8 experts, top-2),
// all logits tied (only experts 0..k-1 get tokens; with k = 1 every token goes to expert 0),
// more rows than a tile, Qwen-MoE style (60 experts, top-4).
static const uint32_t full[][8] = {
    { 1, 64, 172, 4, 2, 1, MODE_LEVELS },  { 7, 64, 128, 8, 2, 1, MODE_LEVELS },  { 33, 96, 200, 8, 2, 0, MODE_TIED },
    { 20, 128, 256, 8, 1, 0, MODE_TIED },  { 70, 64, 96, 16, 4, 1, MODE_LEVELS }, { 5, 128, 352, 60, 4, 1, MODE_LEVELS },
    { 130, 256, 512, 8, 2, 1, MODE_LEVELS },
};
static const uint32_t quick[][8] = { { 7, 64, 128, 8, 2, 1, MODE_LEVELS }, { 20, 128, 256, 8, 1, 0, MODE_TIED },
                                     { 70, 64, 96, 16, 4, 1, MODE_LEVELS } };
// All variants also (texel ones where D and F fill texels): one token (decode) through the row
// blocks, with 8 experts, with 60 and top-4, and with D not a multiple of the down matmul's 8
// rows per workgroup (f32 only); several tokens with that D; a tile's worth of rows and one more.
static const uint32_t extra[][8] = { { 1, 64, 176, 8, 2, 1, MODE_LEVELS }, { 1, 128, 352, 60, 4, 1, MODE_LEVELS },
                                     { 1, 68, 172, 8, 2, 1, MODE_LEVELS }, { 3, 68, 172, 8, 2, 1, MODE_LEVELS },
                                     { 5, 96, 104, 4, 1, 0, MODE_LEVELS } };

// Quantized experts: D whole blocks of gate and up's format, F of down's (32 or 256; shapes
// that do not fit are skipped): one token, a few, more than a tile, Qwen-MoE style (60 experts,
// top-4), all logits tied; DeepSeek-V2-Lite's expert width (1408, 5.5 K-quant blocks: down in
// another format, as its Q4_K_M files have it) with 16 experts, top-6 and weights not
// renormalised, and a width of 11 32-value blocks.
static const uint32_t quant_full[][8] = {
    { 1, 64, 96, 8, 2, 1, MODE_LEVELS },    { 7, 64, 96, 8, 2, 1, MODE_LEVELS },   { 1, 256, 512, 8, 2, 1, MODE_LEVELS },
    { 5, 128, 352, 60, 4, 1, MODE_LEVELS }, { 33, 256, 256, 8, 2, 0, MODE_TIED },  { 3, 512, 256, 4, 1, 0, MODE_LEVELS },
    { 1, 256, 1408, 16, 6, 0, MODE_LEVELS }, { 3, 256, 352, 8, 2, 0, MODE_LEVELS },
};

static void moe_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    if (is_quant(variant)) {  // the full sweep only (see matmul's quick set)
        const vkl_format *format = vkl_format_of(weight_dtype(variant));
        for (size_t i = 0; !is_quick && i < sizeof quant_full / sizeof quant_full[0]; i++) {
            if (quant_full[i][DIM_D] % format->block) continue;
            if (quant_full[i][DIM_F] % format->block == 0) vkl_case_add(cases, self, variant, quant_full[i]);
            // the down experts in another format, as mixed files have them
            uint32_t dims[8];
            memcpy(dims, quant_full[i], sizeof quant_full[i]);
            vkl_dtype down = format->dtype == VKL_DTYPE_Q6_K ? VKL_DTYPE_Q8_0 : VKL_DTYPE_Q6_K;
            if (dims[DIM_F] % vkl_format_of(down)->block) down = VKL_DTYPE_Q8_0;
            if (dims[DIM_F] % vkl_format_of(down)->block) continue;
            dims[DIM_DOWN] = vkl_format_of(down)->ggml_type;
            vkl_case_add(cases, self, variant, dims);
        }
        return;
    }
    const uint32_t(*tables[2])[8] = { is_quick ? quick : full, extra };
    size_t counts[2] = { is_quick ? sizeof quick / sizeof quick[0] : sizeof full / sizeof full[0],
                         sizeof extra / sizeof extra[0] };
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++)
            if (!is_texel(variant) || rows_fit(tables[t][i][DIM_D], tables[t][i][DIM_F], weight_dtype(variant)))
                vkl_case_add(cases, self, variant, tables[t][i]);
}

enum { X, LOGITS, W_GATE, W_UP, W_DOWN, OUT, IDS, WEIGHTS, COUNTS, PROB_MEAN, PROBS, OFFSETS, PERM, INV, TILES, GATE, UP, HIDDEN, Y, TENSORS };

static void moe_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    const uint32_t *d = c->dims;
    uint64_t T = d[DIM_T], D = d[DIM_D], F = d[DIM_F], E = d[DIM_E], k = d[DIM_K], rows = T * k;
    vkl_dtype w = weight_dtype(c->variant);
    uint64_t split = row_blocks(c) ? 1 : rows * F;  // gate and up: the row blocks fuse them away
    out[X] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, T * D, VKL_IN, -1.0f, 1.0f };
    out[LOGITS] = (vkl_tensor_desc){ "logits", VKL_DTYPE_F32, T * E, VKL_IN, -3.5f, 3.5f };
    out[W_GATE] = (vkl_tensor_desc){ "w_gate", w, E * F * D, VKL_IN, -0.2f, 0.2f };
    out[W_UP] = (vkl_tensor_desc){ "w_up", w, E * F * D, VKL_IN, -0.2f, 0.2f };
    out[W_DOWN] = (vkl_tensor_desc){ "w_down", down_dtype(c), E * D * F, VKL_IN, -0.2f, 0.2f };
    out[OUT] = (vkl_tensor_desc){ "out", VKL_DTYPE_F32, T * D, VKL_OUT, 0.0f, 0.0f };
    out[IDS] = (vkl_tensor_desc){ "ids", VKL_DTYPE_U32, rows, VKL_OUT, 0.0f, 0.0f };
    out[WEIGHTS] = (vkl_tensor_desc){ "weights", VKL_DTYPE_F32, rows, VKL_OUT, 0.0f, 0.0f };
    out[COUNTS] = (vkl_tensor_desc){ "counts", VKL_DTYPE_U32, E, VKL_OUT, 0.0f, 0.0f };
    out[PROB_MEAN] = (vkl_tensor_desc){ "prob_mean", VKL_DTYPE_F32, E, VKL_OUT, 0.0f, 0.0f };
    out[PROBS] = (vkl_tensor_desc){ "probs", VKL_DTYPE_F32, T * E, VKL_SCRATCH, 0.0f, 0.0f };
    out[OFFSETS] = (vkl_tensor_desc){ "offsets", VKL_DTYPE_U32, E + 1, VKL_SCRATCH, 0.0f, 0.0f };
    out[PERM] = (vkl_tensor_desc){ "perm", VKL_DTYPE_U32, rows, VKL_SCRATCH, 0.0f, 0.0f };
    out[INV] = (vkl_tensor_desc){ "inv", VKL_DTYPE_U32, rows, VKL_SCRATCH, 0.0f, 0.0f };
    out[TILES] = (vkl_tensor_desc){ "tiles", VKL_DTYPE_U32, 2ull * max_tiles(c), VKL_SCRATCH, 0.0f, 0.0f };
    out[GATE] = (vkl_tensor_desc){ "gate", VKL_DTYPE_F32, split, VKL_SCRATCH, 0.0f, 0.0f };
    out[UP] = (vkl_tensor_desc){ "up", VKL_DTYPE_F32, split, VKL_SCRATCH, 0.0f, 0.0f };
    out[HIDDEN] = (vkl_tensor_desc){ "hidden", VKL_DTYPE_F32, rows * F, VKL_SCRATCH, 0.0f, 0.0f };
    out[Y] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, rows * D, VKL_SCRATCH, 0.0f, 0.0f };
}

// Router logits on integer levels, so ties between experts are frequent.
static void moe_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[TENSORS];
    moe_tensors(c, d);
    for (uint64_t i = 0; i < d[index].count; i++) {
        float v = vkl_rng_uniform(rng, d[index].lo, d[index].hi);
        if (index == LOGITS) v = c->dims[DIM_MODE] == MODE_TIED ? 0.0f : roundf(v);
        values[i] = v;
    }
}

static void grouped(vkl_launch *out, const vkl_case *c, uint32_t a, uint32_t w, uint32_t y, uint32_t N, uint32_t K,
                    uint32_t topk)
{
    const uint32_t *d = c->dims;
    *out = (vkl_launch){ .shader = c->variant == F16 ? "matmul_gemm.moe_f16" : "matmul_gemm.moe_f32",
                         .binding_count = 6, .bindings = { a, w, y, TILES, PERM, OFFSETS },
                         .groups = { (N + MATMUL_GEMM_BN - 1) / MATMUL_GEMM_BN, max_tiles(c), 1 } };
    struct matmul_push push = { .M = d[DIM_T] * d[DIM_K], .N = N, .K = K, .topk = topk };
    vkl_launch_set_push(out, &push, sizeof push);
}

// matmul_gemv.comp's grouped row-block variants by [texel reads, tiles of MT rows; texel reads,
// one-row tiles; storage reads, one-row tiles][gate + up][f16 weights].
static const char *const grouped_row_shaders[3][2][2] = {
    { { "matmul_gemv.moe_texel_f32", "matmul_gemv.moe_texel_f16" },
      { "matmul_gemv.moe_gate_up_texel_f32", "matmul_gemv.moe_gate_up_texel_f16" } },
    { { "matmul_gemv.moe_gemv_texel_f32", "matmul_gemv.moe_gemv_texel_f16" },
      { "matmul_gemv.moe_gemv_gate_up_texel_f32", "matmul_gemv.moe_gemv_gate_up_texel_f16" } },
    { { "matmul_gemv.moe_gemv_rows_f32", "matmul_gemv.moe_gemv_rows_f16" },
      { "matmul_gemv.moe_gemv_gate_up_rows_f32", "matmul_gemv.moe_gemv_gate_up_rows_f16" } },
};

// The same for quantized experts by [format][texel tiles; texel one-row tiles; storage one-row
// tiles; storage tiles][gate + up].
#define QUANT_SHADERS(upper, lower)                                                                    \
    { { "matmul_gemv.moe_texel_" #lower, "matmul_gemv.moe_gate_up_texel_" #lower },                    \
      { "matmul_gemv.moe_gemv_texel_" #lower, "matmul_gemv.moe_gemv_gate_up_texel_" #lower },          \
      { "matmul_gemv.moe_gemv_rows_" #lower, "matmul_gemv.moe_gemv_gate_up_rows_" #lower },            \
      { "matmul_gemv.moe_rows_" #lower, "matmul_gemv.moe_gate_up_rows_" #lower } },
static const char *const quant_row_shaders[][4][2] = { VKLLM_FORMATS(QUANT_SHADERS) };

static const char *grouped_row_shader(const vkl_case *c, bool gate_up)
{
    bool texel = is_texel(c->variant), one_row = tile_rows(c) == 1;
    uint32_t kind = texel ? (one_row ? 1u : 0u) : (one_row ? 2u : 3u);
    vkl_dtype type = gate_up ? weight_dtype(c->variant) : down_dtype(c);
    if (is_quant(c->variant)) return quant_row_shaders[vkl_quant_index(type)][kind][gate_up];
    return grouped_row_shaders[kind][gate_up][has_f16_weights(c->variant)];
}

// The row blocks' grouped matmul: a workgroup per block of `rows` outputs, over every tile;
// with `up` (a tensor index, else -1) it is gate and up with swiglu.
static void grouped_rows(vkl_launch *out, const vkl_case *c, uint32_t a, uint32_t w, int up, uint32_t y, uint32_t N,
                         uint32_t K, uint32_t topk)
{
    uint32_t rows = up >= 0 ? MATMUL_GATE_UP_ROWS : MATMUL_GEMV_TEXEL_ROWS;
    bool texel = is_texel(c->variant);
    *out = (vkl_launch){ .shader = grouped_row_shader(c, up >= 0), .spec0_subgroup_min = true };
    vkl_split_groups((N + rows - 1) / rows, &out->groups[0], &out->groups[1]);
    out->groups[2] = 1;
    if (up >= 0) {
        out->texel_mask = texel ? 0xBu : 0u;  // x, W_gate, W_up
        out->binding_count = 7;
        uint32_t b[7] = { a, w, y, (uint32_t)up, TILES, PERM, OFFSETS };
        memcpy(out->bindings, b, sizeof b);
    } else {
        out->texel_mask = texel ? 0x3u : 0u;  // x, W
        out->binding_count = 6;
        uint32_t b[6] = { a, w, y, TILES, PERM, OFFSETS };
        memcpy(out->bindings, b, sizeof b);
    }
    struct matmul_push push = { .M = c->dims[DIM_T] * c->dims[DIM_K], .N = N, .K = K, .topk = topk,
                                .groups_x = out->groups[0], .tiles = max_tiles(c), .w_rows = c->dims[DIM_E] * N };
    vkl_launch_set_push(out, &push, sizeof push);
}

static uint32_t moe_launch(const vkl_case *c, vkl_launch *out)
{
    const uint32_t *d = c->dims;
    uint32_t T = d[DIM_T], D = d[DIM_D], F = d[DIM_F], E = d[DIM_E], k = d[DIM_K], rows = T * k;
    struct moe_push moe = { .T = T, .E = E, .k = k, .renorm = d[DIM_RENORM], .D = D,
                            .max_tiles = max_tiles(c), .tile_rows = tile_rows(c), .scale = vkl_case_scalar(c, 1.0f) };
    out[0] = (vkl_launch){ .shader = "moe_route.default", .binding_count = 4, .bindings = { LOGITS, PROBS, IDS, WEIGHTS } };
    vkl_split_groups(T, &out[0].groups[0], &out[0].groups[1]);
    out[0].groups[2] = 1;
    moe.groups_x = out[0].groups[0];
    vkl_launch_set_push(&out[0], &moe, sizeof moe);
    out[1] = (vkl_launch){ .shader = "moe_count.default", .binding_count = 8,
                           .bindings = { IDS, PROBS, COUNTS, OFFSETS, PERM, INV, TILES, PROB_MEAN }, .groups = { 1, 1, 1 } };
    vkl_launch_set_push(&out[1], &moe, sizeof moe);

    uint32_t n = 2;
    if (row_blocks(c)) {
        grouped_rows(&out[n++], c, X, W_GATE, W_UP, HIDDEN, F, D, k);
        grouped_rows(&out[n++], c, HIDDEN, W_DOWN, -1, Y, D, F, 0);
    } else {
        grouped(&out[n++], c, X, W_GATE, GATE, F, D, k);
        grouped(&out[n++], c, X, W_UP, UP, F, D, k);
        struct elementwise_push act = { .n = rows * F };
        out[n] = (vkl_launch){ .shader = "swiglu.default", .binding_count = 3, .bindings = { GATE, UP, HIDDEN } };
        act.groups_x = vkl_launch_items(&out[n], act.n, ELEMENTWISE_WG);
        vkl_launch_set_push(&out[n++], &act, sizeof act);
        grouped(&out[n++], c, HIDDEN, W_DOWN, Y, D, F, 0);
    }
    out[n] = (vkl_launch){ .shader = "moe_combine.default", .binding_count = 4, .bindings = { Y, WEIGHTS, INV, OUT } };
    moe.groups_x = vkl_launch_items(&out[n], (uint64_t)T * D, MOE_WG);
    vkl_launch_set_push(&out[n++], &moe, sizeof moe);
    return n;
}

// Error bound of out, propagated stage by stage with f = vkl_sum_error_factor:
//   gate, up: D-term dot products, f(D) sum|x w|;
//   h = silu(g) u: |silu'(g)| dg |u| + |silu(g)| du + the swiglu kernel's own ((3+2|g|)2 + 8)u|h|;
//   y = down . h: f(F) sum|h w| + sum |w| dh;
//   out = sum_j w_j y_j: |w_j| dy_j + dw_j |y_j| (dw from moe_route's bound) + f(k) sum|w_j y_j|,
//   and the reference's rounding u|out|.
// Quantized experts: the reference's weights are the format's dequantize() values, which the
// device reproduces exactly (dequant_ulps 0 for every format, host/formats.h); a symmetric
// format's factored scale rounds once more a term, so f(D) and f(F) take the formats'
// vkl_format_dot_ulps u more (gate and up's, and down's).
static void bound_token(double *bound, const float *x, const uint32_t *ids, const float *weights,
                        const double *weight_bound, const float *const *values, const vkl_case *c, double *work)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    const uint32_t *dims = c->dims;
    uint32_t D = dims[DIM_D], F = dims[DIM_F], k = dims[DIM_K];
    double *h = work, *dh = work + F, *y = work + 2 * F, *dy = work + 2 * F + D, *abs_out = work + 2 * F + 2 * D;
    double f_d = vkl_sum_error_factor(D) + vkl_format_dot_ulps(vkl_format_of(weight_dtype(c->variant))) * u;
    double f_f = vkl_sum_error_factor(F) + vkl_format_dot_ulps(vkl_format_of(down_dtype(c))) * u;
    double f_k = vkl_sum_error_factor(k);
    memset(bound, 0, D * sizeof *bound);
    memset(abs_out, 0, D * sizeof *abs_out);
    for (uint32_t j = 0; j < k; j++) {
        size_t e = ids[j];
        const float *wg = values[W_GATE] + e * F * D, *wu = values[W_UP] + e * F * D, *wd = values[W_DOWN] + e * D * F;
        for (uint32_t f = 0; f < F; f++) {
            double g = 0.0, up = 0.0, ag = 0.0, au = 0.0;
            for (uint32_t d = 0; d < D; d++) {
                g += (double)x[d] * wg[(size_t)f * D + d];
                up += (double)x[d] * wu[(size_t)f * D + d];
                ag += fabs((double)x[d] * wg[(size_t)f * D + d]);
                au += fabs((double)x[d] * wu[(size_t)f * D + d]);
            }
            double sigma = 1.0 / (1.0 + exp(-g)), silu = g * sigma, dsilu = sigma * (1.0 + g * (1.0 - sigma));
            h[f] = silu * up;
            dh[f] = fabs(dsilu) * f_d * ag * fabs(up) + fabs(silu) * f_d * au +
                    ((3.0 + 2.0 * fabs(g)) * 2.0 + 8.0) * u * fabs(h[f]) + VKL_F32_TINY;
        }
        for (uint32_t d = 0; d < D; d++) {
            double acc = 0.0, abs_acc = 0.0, err = 0.0;
            for (uint32_t f = 0; f < F; f++) {
                acc += h[f] * wd[(size_t)d * F + f];
                abs_acc += fabs(h[f] * wd[(size_t)d * F + f]);
                err += dh[f] * fabs(wd[(size_t)d * F + f]);
            }
            y[d] = acc;
            dy[d] = f_f * abs_acc + err;
            bound[d] += fabs(weights[j]) * dy[d] + weight_bound[j] * fabs(y[d]);
            abs_out[d] += fabs(weights[j] * y[d]);
        }
    }
    for (uint32_t d = 0; d < D; d++) bound[d] += f_k * abs_out[d] + 2.0 * u * abs_out[d] + VKL_F32_TINY;
}

static void moe_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const uint32_t *d = c->dims;
    uint32_t T = d[DIM_T], D = d[DIM_D], F = d[DIM_F], E = d[DIM_E], k = d[DIM_K], rows = T * k;
    uint32_t *ids = malloc(rows * sizeof *ids), *perm = malloc(rows * sizeof *perm), *inv = malloc(rows * sizeof *inv);
    uint32_t *tiles = malloc(2ull * max_tiles(c) * sizeof *tiles), counts[MOE_MAX_EXPERTS],
             offsets[MOE_MAX_EXPERTS + 1];
    float *probs = malloc((size_t)T * E * sizeof *probs);
    double *prob_bound = malloc((size_t)T * E * sizeof *prob_bound), *work = malloc((2.0 * F + 3.0 * D) * sizeof *work);
    if (!ids || !perm || !inv || !tiles || !probs || !prob_bound || !work) abort();

    ref_moe(values[OUT], ids, values[WEIGHTS], values[X], values[LOGITS], values[W_GATE], values[W_UP], values[W_DOWN],
            T, D, F, E, k, d[DIM_RENORM], vkl_case_scalar(c, 1.0f));
    ref_moe_route(probs, ids, values[WEIGHTS], values[LOGITS], T, E, k, d[DIM_RENORM], vkl_case_scalar(c, 1.0f));
    vkl_moe_route_bounds(prob_bound, bounds[WEIGHTS], values[LOGITS], probs, values[WEIGHTS], T, E, k, d[DIM_RENORM],
                         vkl_case_scalar(c, 1.0f));
    ref_moe_count(counts, offsets, perm, inv, tiles, values[PROB_MEAN], ids, probs, T, E, k, tile_rows(c));
    for (uint32_t i = 0; i < rows; i++) values[IDS][i] = (float)ids[i];
    for (uint32_t e = 0; e < E; e++) {
        double mean_bound = 0.0;
        for (uint32_t t = 0; t < T; t++) mean_bound += prob_bound[(size_t)t * E + e] / T;
        values[COUNTS][e] = (float)counts[e];
        bounds[PROB_MEAN][e] = mean_bound + (vkl_sum_error_factor(T) + 6.0 * VKL_F32_UNIT_ROUNDOFF) * values[PROB_MEAN][e];
    }
    for (uint32_t t = 0; t < T; t++)
        bound_token(bounds[OUT] + (size_t)t * D, values[X] + (size_t)t * D, ids + (size_t)t * k,
                    values[WEIGHTS] + (size_t)t * k, bounds[WEIGHTS] + (size_t)t * k, (const float *const *)values, c, work);
    free(ids);
    free(perm);
    free(inv);
    free(tiles);
    free(probs);
    free(prob_bound);
    free(work);
}

// Routed work only: per token k experts of 3 matmuls of D x F.
static double moe_flops(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    return 6.0 * d[DIM_T] * d[DIM_K] * d[DIM_D] * d[DIM_F];
}

// Weights of the experts that receive tokens (at most min(E, T k) of them), logits and activations.
static double moe_bytes(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double used = fmin(d[DIM_E], (double)d[DIM_T] * d[DIM_K]);
    double w = 2.0 * (double)vkl_dtype_bytes(weight_dtype(c->variant), (uint64_t)d[DIM_D] * d[DIM_F]) +
               (double)vkl_dtype_bytes(down_dtype(c), (uint64_t)d[DIM_D] * d[DIM_F]);
    return used * w + 4.0 * d[DIM_T] * d[DIM_E] + 8.0 * d[DIM_T] * d[DIM_D];
}

static void moe_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[8] = { b->M, b->dim, b->hidden, b->experts, b->experts_used, 1, MODE_LEVELS, 0 };
    if (b->experts && (!is_texel(variant) || rows_fit(b->dim, b->hidden, weight_dtype(variant))))
        vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_moe = {
    .name = "moe",
    .dim_names = { "T", "D", "F", "E", "k", "renorm", "mode", "down" },
    .dim_count = 8,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = TENSORS,
    .shapes = moe_shapes,
    .tensors = moe_tensors,
    .fill = moe_fill,
    .launch = moe_launch,
    .expect = moe_expect,
    .flops = moe_flops,
    .bytes = moe_bytes,
    .bench_shapes = moe_bench,
};
