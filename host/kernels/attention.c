// attention: causal masked softmax attention over the KV cache — CPU reference, check
// shapes, launch. Shaders: attention_prefill.comp, attention_decode.comp,
// attention_merge.comp, attention.h, kv.glsl.
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/kernels/attention.h"
#include "host/ref.h"
#include "shaders/attention.h"

// Scores of one query against keys 0..n-1 of one KV head, in double. scores (n)
static void head_scores(double *scores, const float *q, const float *k_cache, uint32_t n, uint32_t stride,
                        uint32_t D, double scale)
{
    for (uint32_t k = 0; k < n; k++) {
        double s = 0.0;
        for (uint32_t d = 0; d < D; d++) s += (double)q[d] * k_cache[(size_t)k * stride + d];
        scores[k] = s * scale;
    }
}

void ref_attention(float *o, const float *q, const float *k_cache, const float *v_cache, uint32_t M, uint32_t H,
                   uint32_t KVH, uint32_t D, uint32_t p0)
{
    // o (M, H, D) · q (M, H, D) · k_cache, v_cache (capacity, KVH, D); query m attends 0..p0+m
    double *scores = malloc((size_t)(p0 + M) * sizeof *scores);
    if (!scores) abort();
    uint32_t stride = KVH * D;
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t h = 0; h < H; h++) {
            uint32_t kvh = h / (H / KVH), n = p0 + m + 1;
            const float *qv = q + ((size_t)m * H + h) * D;
            head_scores(scores, qv, k_cache + (size_t)kvh * D, n, stride, D, 1.0 / sqrt(D));
            double max = scores[0], sum = 0.0;
            for (uint32_t k = 1; k < n; k++) max = scores[k] > max ? scores[k] : max;
            for (uint32_t k = 0; k < n; k++) sum += scores[k] = exp(scores[k] - max);
            for (uint32_t d = 0; d < D; d++) {
                double acc = 0.0;
                for (uint32_t k = 0; k < n; k++) acc += scores[k] * v_cache[(size_t)k * stride + (size_t)kvh * D + d];
                o[((size_t)m * H + h) * D + d] = (float)(acc / sum);
            }
        }
    }
    free(scores);
}

enum {
    PREFILL_F32, PREFILL_F16, DECODE_F32, DECODE_F16, DECODE_LANES_F32, DECODE_LANES_F16, DECODE_TEXEL_F32,
    DECODE_TEXEL_F16, PREFILL_TEXEL_F32, PREFILL_TEXEL_F16, PREFILL_TILED_F32, PREFILL_TILED_F16
};
#define Q_K_V 0x7u  // texel bindings: q, k_cache, v_cache
static const vkl_variant variants[] = {
    [PREFILL_F32] = { "prefill.f32", "attention_prefill.f32", false, 0 },
    [PREFILL_F16] = { "prefill.f16", "attention_prefill.f16", false, 0 },
    [DECODE_F32] = { "decode.f32", "attention_decode.f32", false, 0 },
    [DECODE_F16] = { "decode.f16", "attention_decode.f16", false, 0 },
    // For GPUs (KEY_LANES): a subgroup per key in the scores; see vkl_attention_variant.
    [DECODE_LANES_F32] = { "decode_lanes.f32", "attention_decode.lanes_f32", false, 0 },
    [DECODE_LANES_F16] = { "decode_lanes.f16", "attention_decode.lanes_f16", false, 0 },
    [DECODE_TEXEL_F32] = { "decode_texel.f32", "attention_decode.texel_f32", false, Q_K_V },
    [DECODE_TEXEL_F16] = { "decode_texel.f16", "attention_decode.texel_f16", false, Q_K_V },
    // The texel decode shader, a workgroup per query row (and per KV group's heads).
    [PREFILL_TEXEL_F32] = { "prefill_texel.f32", "attention_decode.texel_f32", false, Q_K_V },
    [PREFILL_TEXEL_F16] = { "prefill_texel.f16", "attention_decode.texel_f16", false, Q_K_V },
    // For GPUs: 32 queries a workgroup, register tiles, 16-byte reads; D % 4 == 0, D <= 128.
    [PREFILL_TILED_F32] = { "prefill_tiled.f32", "attention_prefill.tiled_f32", false, 0 },
    [PREFILL_TILED_F16] = { "prefill_tiled.f16", "attention_prefill.tiled_f16", false, 0 },
};
static bool is_decode(uint32_t variant) { return variant >= DECODE_F32 && variant <= DECODE_TEXEL_F16; }
static bool is_texel(uint32_t variant) { return variant >= DECODE_TEXEL_F32 && variant <= PREFILL_TEXEL_F16; }
static bool is_texel_prefill(uint32_t variant) { return variant == PREFILL_TEXEL_F32 || variant == PREFILL_TEXEL_F16; }
static bool is_tiled(uint32_t variant) { return variant == PREFILL_TILED_F32 || variant == PREFILL_TILED_F16; }
static bool kv_f16(uint32_t variant)
{
    return variant == PREFILL_F16 || variant == DECODE_F16 || variant == DECODE_LANES_F16 || variant == DECODE_TEXEL_F16 ||
           variant == PREFILL_TEXEL_F16 || variant == PREFILL_TILED_F16;
}

const char *vkl_attention_variant(const vkl_device_info *info, uint32_t M, uint32_t D, bool f16_cache)
{
    bool texel = D % 8 == 0 && vkl_device_prefers_texel_reads(info);
    if (M > 1 && texel) return f16_cache ? "prefill_texel.f16" : "prefill_texel.f32";
    // GPUs, prompts: 32 queries a workgroup over each K/V tile where the head fits its shared
    // memory (every Llama and Mixtral head); see attention_prefill_tiled.glsl.
    if (M > 1 && D % 4 == 0 && D <= ATTN_TILED_DMAX) return f16_cache ? "prefill_tiled.f16" : "prefill_tiled.f32";
    if (M > 1) return f16_cache ? "prefill.f16" : "prefill.f32";
    if (texel) return f16_cache ? "decode_texel.f16" : "decode_texel.f32";
    // GPUs: a subgroup per key where heads are wide enough for its lanes. In Llama-2-7B decode on
    // an H100 (4 layers, f32 cache; benchmarks/results/nvidia-h100/attention-decode.md) attention
    // took 83 us per token at context 640 (decode.f32: 129), and 244 at 4,028 (423). The kernel
    // benchmark had it faster with f16 caches too (ctx 4096: 76 against 153 us), and slower with
    // D = 8 (13.1 against 11.2 us).
    if (D >= 64 && D % 4 == 0) return f16_cache ? "decode_lanes.f16" : "decode_lanes.f32";
    return f16_cache ? "decode.f16" : "decode.f32";
}

enum { DIM_M, DIM_H, DIM_KVH, DIM_D, DIM_P, DIM_C };

// (M, H, KVH, D, P, capacity): stories260K (8 heads over 4, D 8), MHA, GQA, MQA, head
// dimensions 8, 64, 80, 96, 128, 256, query blocks and key tiles not multiples of 8 and 16,
// contexts across many tiles and chunks, up to 8192.
static const uint32_t prefill_full[][6] = {
    { 1, 1, 1, 64, 0, 16 },  { 5, 8, 4, 8, 0, 512 },   { 17, 4, 4, 64, 0, 64 },       { 33, 8, 2, 80, 100, 256 },
    { 16, 4, 1, 96, 17, 64 }, { 40, 8, 2, 128, 0, 64 }, { 9, 4, 2, 256, 300, 512 },   { 512, 4, 4, 64, 0, 512 },
    { 16, 4, 1, 128, 8176, 8192 },
};
static const uint32_t prefill_quick[][6] = { { 5, 8, 4, 8, 0, 512 }, { 17, 4, 4, 64, 0, 64 }, { 9, 4, 2, 256, 300, 512 } };
// Tiled prefill (D <= 128): the prefill shapes but D = 256, plus blocks of 32 queries full, cut
// short by one and by 31 (M = 32, 33, 63) after a prefix, a prefix not a multiple of the 16-key
// tile, D = 8 (one quad of the output for 2 of 16 columns), 80 and 96 (a second quad for some
// columns only), MQA.
static const uint32_t tiled_full[][6] = {
    { 1, 1, 1, 64, 0, 16 },      { 5, 8, 4, 8, 0, 512 },       { 17, 4, 4, 64, 0, 64 },     { 33, 8, 2, 80, 100, 256 },
    { 16, 4, 1, 96, 17, 64 },    { 40, 8, 2, 128, 0, 64 },     { 512, 4, 4, 64, 0, 512 },   { 16, 4, 1, 128, 8176, 8192 },
    { 32, 4, 2, 128, 5, 64 },    { 63, 6, 3, 96, 130, 256 },   { 97, 2, 1, 8, 31, 160 },    { 33, 3, 3, 80, 1000, 1040 },
};
static const uint32_t tiled_quick[][6] = { { 5, 8, 4, 8, 0, 512 }, { 33, 8, 2, 80, 100, 256 }, { 63, 6, 3, 96, 130, 256 } };
static const uint32_t decode_full[][6] = {
    { 1, 1, 1, 64, 0, 16 },      { 1, 8, 4, 8, 37, 512 },     { 1, 4, 1, 96, 1000, 1024 },  { 1, 8, 2, 256, 300, 512 },
    { 1, 16, 16, 80, 513, 1024 }, { 1, 32, 8, 128, 4095, 4096 }, { 1, 32, 8, 128, 8191, 8192 },
};
static const uint32_t decode_quick[][6] = { { 1, 8, 4, 8, 37, 512 }, { 1, 4, 1, 96, 1000, 1024 } };
// The texel path needs D % 8 == 0: D of one slot (8) and of 32 slots (256), chunks cut short;
// heads of 2, 3 and 5 slots, which 4, 2 and 1 invocations of the V sum share; 9 and 10 slots
// (a second pass of the V sum with most invocations past the last slot); GQA groups of 1 to 8
// query heads, so workgroups of 1 (groups 1, 3), 2 (2, 6) and 4 heads (4, 8).
static const uint32_t texel_full[][6] = {
    { 1, 1, 1, 64, 0, 16 },       { 1, 8, 4, 8, 37, 512 },      { 1, 4, 1, 96, 1000, 1024 },   { 1, 8, 2, 256, 300, 512 },
    { 1, 16, 16, 80, 513, 1024 }, { 1, 32, 8, 128, 4095, 4096 }, { 1, 32, 8, 128, 8191, 8192 }, { 1, 6, 3, 8, 255, 300 },
    { 1, 2, 1, 16, 260, 512 },    { 1, 4, 2, 24, 700, 1024 },    { 1, 3, 3, 40, 99, 128 },      { 1, 9, 3, 64, 130, 256 },
    { 1, 12, 2, 72, 600, 1024 },  { 1, 16, 2, 32, 1030, 2048 },
};
static const uint32_t texel_quick[][6] = {
    { 1, 8, 4, 8, 37, 512 }, { 1, 4, 1, 96, 1000, 1024 }, { 1, 2, 1, 256, 256, 520 }, { 1, 12, 2, 72, 600, 1024 },
};
// Texel prefill: the prefill shapes (all D % 8 == 0), plus queries whose keys span 2 and 3
// chunks (merged as they go), after a prefix, in workgroups of 2 and 4 heads; and workgroups of
// 4 and 2 query rows whose first rows end their keys a chunk before the others (positions 510
// to 513 and 511, 512: 512 keys a chunk), with a last workgroup of 1 row.
static const uint32_t prefill_texel_extra[][6] = {
    { 7, 12, 2, 72, 600, 1024 }, { 3, 16, 2, 32, 1030, 2048 }, { 9, 4, 4, 64, 510, 1024 }, { 7, 4, 2, 32, 511, 1024 },
};

static void attention_shapes(const vkl_kernel *self, uint32_t variant, bool quick, vkl_case **cases)
{
    if (is_tiled(variant)) {
        VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, tiled_quick, tiled_full);
        return;
    }
    if (is_texel_prefill(variant)) VKL_ADD_SHAPES(cases, self, variant, prefill_texel_extra);
    if (is_texel(variant) && is_decode(variant)) VKL_ADD_QUICK_OR_FULL(cases, self, variant, quick, texel_quick, texel_full);
    else if (is_decode(variant) && quick) VKL_ADD_SHAPES(cases, self, variant, decode_quick);
    else if (is_decode(variant)) VKL_ADD_SHAPES(cases, self, variant, decode_full);
    else if (quick) VKL_ADD_SHAPES(cases, self, variant, prefill_quick);
    else VKL_ADD_SHAPES(cases, self, variant, prefill_full);
}

// Chunks the context is split into across workgroups (decode); texel prefill: 1, each workgroup
// walking its query's keys chunk by chunk.
static uint32_t chunks_of(const vkl_case *c)
{
    if (is_texel_prefill(c->variant)) return 1;
    uint32_t chunk = is_texel(c->variant) ? ATTN_TEXEL_CHUNK : ATTN_CHUNK;
    return (c->dims[DIM_C] + chunk - 1) / chunk;
}

uint32_t vkl_attention_max_chunks(uint32_t context)
{
    uint32_t chunk = ATTN_CHUNK < ATTN_TEXEL_CHUNK ? ATTN_CHUNK : ATTN_TEXEL_CHUNK;
    return (uint32_t)(((uint64_t)context + chunk - 1) / chunk);
}

static void attention_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    const uint32_t *d = c->dims;
    uint64_t qn = (uint64_t)d[DIM_M] * d[DIM_H] * d[DIM_D], cache = (uint64_t)d[DIM_C] * d[DIM_KVH] * d[DIM_D];
    vkl_dtype kv = kv_f16(c->variant) ? VKL_DTYPE_F16 : VKL_DTYPE_F32;
    uint64_t partials = is_decode(c->variant) ? (uint64_t)d[DIM_H] * chunks_of(c) * (d[DIM_D] + 2) : 1;
    out[0] = (vkl_tensor_desc){ "q", VKL_DTYPE_F32, qn, VKL_IN, -2.0f, 2.0f };
    out[1] = (vkl_tensor_desc){ "k_cache", kv, cache, VKL_IN, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "v_cache", kv, cache, VKL_IN, -1.0f, 1.0f };
    out[3] = (vkl_tensor_desc){ "pos", VKL_DTYPE_U32, 1, VKL_IN, 0.0f, 0.0f };
    out[4] = (vkl_tensor_desc){ "o", VKL_DTYPE_F32, qn, VKL_OUT, 0.0f, 0.0f };
    out[5] = (vkl_tensor_desc){ "partials", VKL_DTYPE_F32, partials, VKL_SCRATCH, 0.0f, 0.0f };
}

// Cache positions no query may see (p0 + M and later) hold NaN: reading one, even masked with
// a zero weight, makes the output NaN, which the checker reports. So the mask is tested for
// real, beyond what the comparison with the reference shows inside the block.
static void attention_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    vkl_tensor_desc d[6];
    attention_tensors(c, d);
    if (index == 3) {
        values[0] = (float)c->dims[DIM_P];
        return;
    }
    uint64_t visible = index == 0 ? d[0].count : (uint64_t)(c->dims[DIM_P] + c->dims[DIM_M]) * c->dims[DIM_KVH] * c->dims[DIM_D];
    for (uint64_t i = 0; i < d[index].count; i++)
        values[i] = i < visible ? vkl_rng_uniform(rng, d[index].lo, d[index].hi) : NAN;
}

// Texel path: query heads per workgroup, the most of 4, 2 and 1 that divides the GQA group
// (H / KVH), so that one read of a K or V texel serves them all.
static uint32_t texel_heads(const vkl_case *c)
{
    uint32_t group = c->dims[DIM_H] / c->dims[DIM_KVH];
    return group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
}

static uint32_t attention_launch(const vkl_case *c, vkl_launch *out)
{
    const uint32_t *d = c->dims;
    struct attention_push push = { .M = d[DIM_M], .H = d[DIM_H], .KVH = d[DIM_KVH], .D = d[DIM_D],
                                   .chunks = chunks_of(c), .scale = (float)(1.0 / sqrt(d[DIM_D])) };
    if (!is_decode(c->variant) && !is_texel(c->variant)) {
        uint32_t block = is_tiled(c->variant) ? ATTN_TILED_BQ : ATTN_BQ;
        out[0] = (vkl_launch){ .spec_count = 1, .spec = { push.D }, .groups = { (push.M + block - 1) / block, push.H, 1 } };
        vkl_launch_set_push(&out[0], &push, sizeof push);
        return 1;
    }
    // The texel path also binds o, which it writes itself where one chunk covers the cache (and
    // in prefill), and takes texel_heads(c) query heads of a KV group per workgroup (spec constant
    // 1) and, in prefill, as many query rows as make 4 (row, head) pairs (spec constant 2).
    uint32_t heads = is_texel(c->variant) ? texel_heads(c) : 1;
    uint32_t rows = is_texel_prefill(c->variant) ? ATTN_TEXEL_PAIRS / heads : 1;
    out[0] = (vkl_launch){ .binding_count = is_texel(c->variant) ? 6 : 5, .bindings = { 0, 1, 2, 3, 5, 4 },
                           .groups = { push.chunks, push.H / heads, (push.M + rows - 1) / rows },
                           .spec0_subgroup_min = is_texel(c->variant), .spec_count = is_texel(c->variant) ? 3 : 0,
                           .spec = { 0, heads, rows } };
    out[1] = (vkl_launch){ .shader = "attention_merge.default", .binding_count = 2, .bindings = { 5, 4 },
                           .groups = { (push.H * push.D + ATTN_MERGE_WG - 1) / ATTN_MERGE_WG, 1, 1 } };
    vkl_launch_set_push(&out[0], &push, sizeof push);
    vkl_launch_set_push(&out[1], &push, sizeof push);
    return is_texel(c->variant) && push.chunks == 1 ? 1 : 2;
}

// Bound for o[j] = sum_k p_k v_kj / sum_k p_k, p_k = exp(s_k - max), over n keys:
//   score s_k: a Dk-term dot product of pre-scaled q: (f(Dk) + 2u) A_k + u|s_k|, A_k = scale sum|q k|;
//   p_k: that, plus u z_k for the shift (z_k = max - s_k; the error of max itself scales every
//   p_k alike and cancels) and exp's (3 + 2 z_k) ulp: eps_k; decode also weighs each chunk by an
//   exp of at most z_k: another (3 + 3 z_k) 2u;
//   sums over n keys: f(n), plus 2u per rescale of the running sums (one per tile of `tile` keys);
//   so |error| <= [(f(n) + r + u) sum p|v| + sum p eps |v|] / P + |o| (f(n) + r + sum p eps / P + 7u).
void vkl_attention_bound(double *bound, const float *o, const float *q, const float *k, uint32_t k_stride,
                         const float *v, uint32_t v_stride, uint32_t n, uint32_t Dk, uint32_t Dv, double scale,
                         uint32_t tile, bool decode, double *scores, double *eps)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    double f_d = vkl_sum_error_factor(Dk), f_n = vkl_sum_error_factor(n), rescale = 2.0 * u * ((n + tile - 1) / tile);
    head_scores(scores, q, k, n, k_stride, Dk, scale);
    double max = scores[0], sum = 0.0, weighted_eps = 0.0;
    for (uint32_t i = 1; i < n; i++) max = scores[i] > max ? scores[i] : max;
    for (uint32_t i = 0; i < n; i++) {
        double a = 0.0;
        for (uint32_t d = 0; d < Dk; d++) a += fabs((double)q[d] * k[(size_t)i * k_stride + d]);
        double z = max - scores[i];
        eps[i] = (f_d + 2.0 * u) * a * scale + u * fabs(scores[i]) + u * z + (3.0 + 2.0 * z) * 2.0 * u +
                 (decode ? (3.0 + 3.0 * z) * 2.0 * u : 0.0);
        scores[i] = exp(-z);
        sum += scores[i];
        weighted_eps += scores[i] * eps[i];
    }
    for (uint32_t d = 0; d < Dv; d++) {
        double abs_num = 0.0, eps_num = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            double pv = scores[i] * fabs(v[(size_t)i * v_stride + d]);
            abs_num += pv;
            eps_num += pv * eps[i];
        }
        bound[d] = ((f_n + rescale + u) * abs_num + eps_num) / sum +
                   fabs(o[d]) * (f_n + rescale + weighted_eps / sum + 7.0 * u) + VKL_F32_TINY;
    }
}

static void attention_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const uint32_t *d = c->dims;
    uint32_t M = d[DIM_M], H = d[DIM_H], KVH = d[DIM_KVH], D = d[DIM_D], P = d[DIM_P], stride = KVH * D;
    ref_attention(values[4], values[0], values[1], values[2], M, H, KVH, D, P);
    double *scores = malloc((size_t)(P + M) * sizeof *scores), *eps = malloc((size_t)(P + M) * sizeof *eps);
    if (!scores || !eps) abort();
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t h = 0; h < H; h++) {
            size_t at = ((size_t)m * H + h) * D, kv = (size_t)(h / (H / KVH)) * D;
            vkl_attention_bound(bounds[4] + at, values[4] + at, values[0] + at, values[1] + kv, stride, values[2] + kv,
                                stride, P + m + 1, D, D, 1.0 / sqrt(D), ATTN_BK,
                                is_decode(c->variant) || is_texel(c->variant), scores, eps);
        }
    }
    free(scores);
    free(eps);
}

// Per query and head: n keys times (2D for scores, 2D for values) plus the softmax.
static double attention_flops(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double keys = (double)d[DIM_M] * d[DIM_P] + (double)d[DIM_M] * (d[DIM_M] + 1) / 2.0;
    return keys * d[DIM_H] * (4.0 * d[DIM_D] + 5.0);
}

// The KV rows that must be read once, the queries and the outputs.
static double attention_bytes(const vkl_case *c)
{
    const uint32_t *d = c->dims;
    double kv_bytes = kv_f16(c->variant) ? 2.0 : 4.0;
    return 2.0 * (d[DIM_P] + d[DIM_M]) * d[DIM_KVH] * d[DIM_D] * kv_bytes + 8.0 * d[DIM_M] * d[DIM_H] * d[DIM_D];
}

// Decode variants for one token, prefill variants for a batch, at the shape's context.
static void attention_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    bool decode = is_decode(variant);
    if (is_texel(variant) && b->head_dim % 8) return;
    uint32_t dims[6] = { b->M, b->heads, b->kv_heads, b->head_dim, b->context - b->M, b->context };
    if (decode == (b->M == 1)) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_attention = {
    .name = "attention",
    .dim_names = { "M", "H", "KVH", "D", "P", "C" },
    .dim_count = 6,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 6,
    .shapes = attention_shapes,
    .tensors = attention_tensors,
    .fill = attention_fill,
    .launch = attention_launch,
    .expect = attention_expect,
    .flops = attention_flops,
    .bytes = attention_bytes,
    .bench_shapes = attention_bench,
};
