// moe_count: per-expert token lists and load statistics — CPU reference, check shapes,
// launch. Shader: shaders/moe_count.comp, shaders/moe.h.
#include <stdlib.h>
#include <string.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"
#include "shaders/matmul.h"
#include "shaders/moe.h"

uint32_t vkl_moe_max_tiles(uint32_t T, uint32_t k, uint32_t E, uint32_t tile_rows)
{
    return (T * k + tile_rows - 1) / tile_rows + E;
}

void ref_moe_count(uint32_t *counts, uint32_t *offsets, uint32_t *perm, uint32_t *inv, uint32_t *tiles,
                   float *prob_mean, const uint32_t *ids, const float *probs, uint32_t T, uint32_t E, uint32_t k,
                   uint32_t tile_rows)
{
    // counts (E) · offsets (E+1) · perm, inv (T*k) · tiles (max_tiles, 2) · prob_mean (E) ·
    // ids (T*k) · probs (T, E)
    uint32_t n = T * k, max_tiles = vkl_moe_max_tiles(T, k, E, tile_rows);
    memset(counts, 0, E * sizeof *counts);
    for (uint32_t i = 0; i < n; i++) counts[ids[i]]++;
    offsets[0] = 0;
    for (uint32_t e = 0; e < E; e++) offsets[e + 1] = offsets[e] + counts[e];
    uint32_t next[MOE_MAX_EXPERTS];
    memcpy(next, offsets, E * sizeof *next);
    for (uint32_t i = 0; i < n; i++) {  // entry order within each expert
        inv[i] = next[ids[i]]++;
        perm[inv[i]] = i;
    }
    uint32_t tile = 0;
    for (uint32_t e = 0; e < E; e++)
        for (uint32_t r = offsets[e]; r < offsets[e + 1]; r += tile_rows, tile++) {
            tiles[2 * tile] = e;
            tiles[2 * tile + 1] = r;
        }
    for (; tile < max_tiles; tile++) {
        tiles[2 * tile] = MOE_NO_TILE;
        tiles[2 * tile + 1] = 0;
    }
    for (uint32_t e = 0; e < E; e++) {
        double sum = 0.0;
        for (uint32_t t = 0; t < T; t++) sum += probs[(size_t)t * E + e];
        prob_mean[e] = (float)(sum / T);
    }
}

static const vkl_variant variants[] = { { "u32", "moe_count.default", false } };

enum { DIM_T, DIM_E, DIM_K, DIM_MODE, DIM_ROWS };
enum { MODE_RANDOM, MODE_ONE_EXPERT, MODE_FIRST_K };  // k distinct random experts; all on expert E-1; on 0..k-1

// (T, E, k, mode, tile rows): experts with no tokens, all tokens on one expert, more entries
// than a workgroup and than a tile, 256 experts; tiles of the storage path's grouped GEMM
// (MATMUL_GEMM_BM rows) and of the texel path's (MATMUL_MOE_TEXEL_MT, or 1 at decode).
#define BM MATMUL_GEMM_BM
#define MT MATMUL_MOE_TEXEL_MT
static const uint32_t full[][5] = {
    { 1, 1, 1, MODE_RANDOM, BM },     { 7, 8, 2, MODE_RANDOM, BM },      { 33, 8, 1, MODE_ONE_EXPERT, BM },
    { 100, 8, 2, MODE_FIRST_K, BM },  { 300, 60, 4, MODE_RANDOM, BM },   { 512, 8, 2, MODE_RANDOM, BM },
    { 64, 256, 8, MODE_RANDOM, BM },  { 513, 128, 8, MODE_RANDOM, BM },  { 1, 8, 2, MODE_RANDOM, MT },
    { 33, 8, 1, MODE_ONE_EXPERT, MT }, { 300, 60, 4, MODE_RANDOM, MT },  { 513, 128, 8, MODE_RANDOM, MT },
    { 1, 8, 2, MODE_RANDOM, 1 },       { 1, 60, 4, MODE_RANDOM, 1 },     { 70, 16, 4, MODE_FIRST_K, 1 },
};
static const uint32_t quick[][5] = { { 7, 8, 2, MODE_RANDOM, BM }, { 33, 8, 1, MODE_ONE_EXPERT, BM },
                                     { 300, 60, 4, MODE_RANDOM, BM }, { 300, 60, 4, MODE_RANDOM, MT },
                                     { 1, 8, 2, MODE_RANDOM, 1 } };

static void moe_count_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void moe_count_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t T = c->dims[DIM_T], E = c->dims[DIM_E], k = c->dims[DIM_K], n = T * k;
    out[0] = (vkl_tensor_desc){ "ids", VKL_DTYPE_U32, n, VKL_IN, 0.0f, 0.0f };
    out[1] = (vkl_tensor_desc){ "probs", VKL_DTYPE_F32, T * E, VKL_IN, 0.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "counts", VKL_DTYPE_U32, E, VKL_OUT, 0.0f, 0.0f };
    out[3] = (vkl_tensor_desc){ "offsets", VKL_DTYPE_U32, E + 1, VKL_OUT, 0.0f, 0.0f };
    out[4] = (vkl_tensor_desc){ "perm", VKL_DTYPE_U32, n, VKL_OUT, 0.0f, 0.0f };
    out[5] = (vkl_tensor_desc){ "inv", VKL_DTYPE_U32, n, VKL_OUT, 0.0f, 0.0f };
    out[6] = (vkl_tensor_desc){ "tiles", VKL_DTYPE_U32, 2ull * vkl_moe_max_tiles(T, k, E, c->dims[DIM_ROWS]), VKL_OUT,
                                0.0f, 0.0f };
    out[7] = (vkl_tensor_desc){ "prob_mean", VKL_DTYPE_F32, E, VKL_OUT, 0.0f, 0.0f };
}

static void moe_count_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    uint32_t T = c->dims[DIM_T], E = c->dims[DIM_E], k = c->dims[DIM_K];
    if (index == 1) {
        for (uint64_t i = 0; i < (uint64_t)T * E; i++) values[i] = vkl_rng_uniform(rng, 0.0f, 1.0f);
        return;
    }
    for (uint32_t t = 0; t < T; t++) {
        bool taken[MOE_MAX_EXPERTS] = { false };
        for (uint32_t j = 0; j < k; j++) {
            uint32_t e = c->dims[DIM_MODE] == MODE_FIRST_K ? j : (uint32_t)(vkl_rng_next(rng) % E);
            if (c->dims[DIM_MODE] == MODE_ONE_EXPERT) e = E - 1;
            while (c->dims[DIM_MODE] == MODE_RANDOM && taken[e]) e = (e + 1) % E;  // k distinct experts
            taken[e] = true;
            values[(size_t)t * k + j] = (float)e;
        }
    }
}

static uint32_t moe_count_launch(const vkl_case *c, vkl_launch *out)
{
    const uint32_t *d = c->dims;
    struct moe_push push = { .T = d[DIM_T], .E = d[DIM_E], .k = d[DIM_K],
                             .max_tiles = vkl_moe_max_tiles(d[DIM_T], d[DIM_K], d[DIM_E], d[DIM_ROWS]),
                             .tile_rows = d[DIM_ROWS] };
    *out = (vkl_launch){ .groups = { 1, 1, 1 } };
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// Everything but prob_mean is an integer and exact; prob_mean is a sum of T positive terms,
// a division (5u) and the reference's rounding (u).
static void moe_count_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t T = c->dims[DIM_T], E = c->dims[DIM_E], k = c->dims[DIM_K], n = T * k, rows = c->dims[DIM_ROWS];
    uint32_t tiles = vkl_moe_max_tiles(T, k, E, rows);
    uint32_t *ids = malloc(n * sizeof *ids), *perm = malloc(n * sizeof *perm), *inv = malloc(n * sizeof *inv);
    uint32_t *tile_map = malloc(2ull * tiles * sizeof *tile_map), counts[MOE_MAX_EXPERTS], offsets[MOE_MAX_EXPERTS + 1];
    if (!ids || !perm || !inv || !tile_map) abort();
    for (uint32_t i = 0; i < n; i++) ids[i] = (uint32_t)values[0][i];
    ref_moe_count(counts, offsets, perm, inv, tile_map, values[7], ids, values[1], T, E, k, rows);
    for (uint32_t e = 0; e <= E; e++) {
        if (e < E) values[2][e] = (float)counts[e];
        values[3][e] = (float)offsets[e];
    }
    for (uint32_t i = 0; i < n; i++) {
        values[4][i] = (float)perm[i];
        values[5][i] = (float)inv[i];
    }
    for (uint32_t i = 0; i < 2 * tiles; i++) values[6][i] = (float)tile_map[i];
    double relative = vkl_sum_error_factor(T) + 6.0 * VKL_F32_UNIT_ROUNDOFF;
    for (uint32_t e = 0; e < E; e++) bounds[7][e] = relative * values[7][e] + VKL_F32_TINY;
    free(ids);
    free(perm);
    free(inv);
    free(tile_map);
}

static double moe_count_flops(const vkl_case *c) { return (double)c->dims[DIM_T] * c->dims[DIM_E]; }
static double moe_count_bytes(const vkl_case *c)
{
    return 4.0 * c->dims[DIM_T] * (c->dims[DIM_E] + 3.0 * c->dims[DIM_K]);
}

static void moe_count_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[5] = { b->M, b->experts, b->experts_used, 0, MATMUL_GEMM_BM };
    if (b->experts) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_moe_count = {
    .name = "moe_count",
    .dim_names = { "T", "E", "k", "mode", "rows" },
    .dim_count = 5,
    .variants = variants,
    .variant_count = 1,
    .tensor_count = 8,
    .shapes = moe_count_shapes,
    .tensors = moe_count_tensors,
    .fill = moe_count_fill,
    .launch = moe_count_launch,
    .expect = moe_count_expect,
    .flops = moe_count_flops,
    .bytes = moe_count_bytes,
    .bench_shapes = moe_count_bench,
};
