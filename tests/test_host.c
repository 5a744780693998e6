// Unit tests of the host code: half conversion, RNG, case selection, error bounds, the CPU
// references against independent computations, the pipeline-cache envelope, JSON output and the
// weight formats (layouts, quantization error).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stb/stb_ds.h>

#include "host/bounds.h"
#include "host/check.h"
#include "host/formats.h"
#include "host/half.h"
#include "host/json.h"
#include "host/kernels/attention.h"
#include "host/kernels/matmul.h"
#include "host/model.h"
#include "host/ref.h"
#include "host/rng.h"
#include "host/tokenizer.h"
#include "runtime/pipeline_cache.h"
#include "shaders/attention.h"

static int passed, failed;

#define EXPECT(cond)                                                                     \
    do {                                                                                 \
        if (cond) passed++;                                                              \
        else { failed++; fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

static float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void test_half_known_values(void)
{
    EXPECT(vkl_f32_to_f16(1.0f) == 0x3C00);
    EXPECT(vkl_f32_to_f16(-2.0f) == 0xC000);
    EXPECT(vkl_f32_to_f16(0.1f) == 0x2E66);
    EXPECT(vkl_f32_to_f16(65504.0f) == 0x7BFF);
    EXPECT(vkl_f32_to_f16(65519.0f) == 0x7BFF);            // below the rounding midpoint
    EXPECT(vkl_f32_to_f16(65520.0f) == 0x7C00);            // midpoint rounds to even: infinity
    EXPECT(vkl_f32_to_f16(0x1p-24f) == 0x0001);            // smallest subnormal
    EXPECT(vkl_f32_to_f16(0x1p-25f) == 0x0000);            // tie to even: zero
    EXPECT(vkl_f32_to_f16(0x1.8p-24f) == 0x0002);          // tie to even: two
    EXPECT(vkl_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);     // tie to even: down
    EXPECT(vkl_f32_to_f16(1.0f + 0x1.8p-10f) == 0x3C02);   // tie to even: up
    EXPECT(vkl_f32_to_f16(-0.0f) == 0x8000);
    EXPECT(vkl_f32_to_f16(INFINITY) == 0x7C00);
    EXPECT((vkl_f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (vkl_f32_to_f16(NAN) & 0x3FF) != 0);
    EXPECT(vkl_f16_to_f32(0x3555) == bits_to_float(0x3EAAA000));  // 0.333251953125
    EXPECT(vkl_f16_to_f32(0x0001) == 0x1p-24f);
    EXPECT(vkl_f16_to_f32(0x83FF) == -0x3FFp-24f);
}

// Every finite half survives f16 -> f32 -> f16, and the f32 value matches ldexp arithmetic.
static void test_half_round_trip(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
        if (exp == 0x1F) continue;
        double magnitude = exp ? ldexp(1.0 + mant / 1024.0, (int)exp - 15) : ldexp(mant, -24);
        double expected = (h & 0x8000) ? -magnitude : magnitude;
        float f = vkl_f16_to_f32((uint16_t)h);
        if ((double)f != expected || vkl_f32_to_f16(f) != h) bad++;
    }
    EXPECT(bad == 0);
}

static void test_rng(void)
{
    vkl_rng a, b;
    vkl_rng_seed(&a, 42);
    vkl_rng_seed(&b, 42);
    int same = 0, in_range = 0;
    double sum = 0.0;
    for (int i = 0; i < 10000; i++) {
        float x = vkl_rng_uniform(&a, -1.0f, 1.0f), y = vkl_rng_uniform(&b, -1.0f, 1.0f);
        same += x == y;
        in_range += x >= -1.0f && x < 1.0f;
        sum += x;
    }
    EXPECT(same == 10000 && in_range == 10000);
    EXPECT(fabs(sum / 10000) < 0.05);  // mean of U(-1,1); standard error 0.0058
    vkl_rng_seed(&b, 43);
    EXPECT(vkl_rng_next(&a) != vkl_rng_next(&b));
}

static void test_case_matching(void)
{
    const char *name = "matmul/gemv.f16/M=1,N=32000,K=512";
    EXPECT(vkl_case_matches(name, name));
    EXPECT(vkl_case_matches("matmul", name));
    EXPECT(vkl_case_matches("matmul/gemv.f16", name));
    EXPECT(vkl_case_matches("*/M=1,*", name));
    EXPECT(!vkl_case_matches("matmul/gemv.f16/M=1,N=32000,K=51", name));
    EXPECT(!vkl_case_matches("matmu", name));
    EXPECT(!vkl_case_matches("rms_norm", name));

    vkl_case *all = NULL, *quick = NULL, *faults = NULL;
    vkl_cases_select(&(vkl_case_filter){ 0 }, &all);
    vkl_cases_select(&(vkl_case_filter){ .quick = true }, &quick);
    vkl_cases_select(&(vkl_case_filter){ .faults = true, .patterns = (const char *[]){ "*fault*" }, .pattern_count = 1 }, &faults);
    EXPECT(arrlen(quick) > 0 && arrlen(quick) < arrlen(all));
    EXPECT(arrlen(faults) == 3);
    int fault_in_all = 0, unique = 1;
    for (ptrdiff_t i = 0; i < arrlen(all); i++) {
        fault_in_all += strstr(all[i].name, "fault") != NULL;
        for (ptrdiff_t j = 0; j < i; j++) unique &= strcmp(all[i].name, all[j].name) != 0;
    }
    EXPECT(fault_in_all == 0);
    EXPECT(unique);  // a case string reruns exactly one case
    arrfree(all);
    arrfree(quick);
    arrfree(faults);
}

static void test_bounds(void)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    EXPECT(vkl_sum_error_factor(1) == u / (1 - u));              // deterministic gamma_1
    EXPECT(fabs(vkl_sum_error_factor(16) - 16 * u / (1 - 16 * u)) < 1e-20);
    EXPECT(vkl_sum_error_factor(14336) == VKL_BOUND_LAMBDA * sqrt(14336.0) * u);
    EXPECT(vkl_sum_error_factor(36) <= 36 * u / (1 - 36 * u));  // crossover at n = lambda^2
}

// ref_matmul against hand-computed products and the identity.
static void test_ref_matmul(void)
{
    const float x[2 * 3] = { 1, 2, 3, -1, 0.5f, 4 };           // (M=2, K=3)
    const float w[2 * 3] = { 4, 5, 6, -2, 1, 0.25f };          // (N=2, K=3)
    float y[4];
    ref_matmul(y, x, w, 2, 2, 3);
    EXPECT(y[0] == 32.0f && y[1] == 0.75f && y[2] == 22.5f && y[3] == 3.5f);

    float eye[3 * 3] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, w3[2 * 3] = { 1.5f, -2, 3, 7, 8, 9 }, y3[3 * 2];
    ref_matmul(y3, eye, w3, 3, 2, 3);                          // y = Wᵀ
    int ok = 1;
    for (int m = 0; m < 3; m++)
        for (int n = 0; n < 2; n++) ok &= y3[m * 2 + n] == w3[n * 3 + m];
    EXPECT(ok);

    // Double accumulation: 1 + 2^-24 * 2^24 terms of 2^-24 would lose every small term in f32.
    enum { K = 1 << 12 };
    static float ones[K + 1], small[K + 1];
    ones[0] = 1.0f;
    small[0] = 1.0f;
    for (int k = 1; k <= K; k++) { ones[k] = 1.0f; small[k] = 0x1p-24f; }
    float r;
    ref_matmul(&r, ones, small, 1, 1, K + 1);
    EXPECT(r == (float)(1.0 + K * 0x1p-24));
}

static void test_ref_rms_norm(void)
{
    const float x[2 * 2] = { 3, 4, 0, 0 }, w[2] = { 1, -2 };
    float y[4];
    ref_rms_norm(y, x, w, 2, 2, 0.0f);
    double rms = sqrt(12.5);
    EXPECT(y[0] == (float)(3 / rms) && y[1] == (float)(-8 / rms));
    EXPECT(isnan(y[2]));  // a zero row with eps = 0 is 0 * inf: eps is what keeps it finite
    ref_rms_norm(y, x, w, 2, 2, 1e-5f);
    EXPECT(isfinite(y[2]) && y[2] == 0.0f);
    EXPECT(fabs(y[0] - 3 / sqrt(12.5 + (double)1e-5f)) < 1e-7);
}

// RoPE frequencies from their definitions: unscaled base^(-2i/R); linear scaling divides them;
// under YaRN (DeepSeek-V2: R 64, base 10^4, 4,096 trained positions, factor 40) a pair that turns
// more than 32 times over the trained context keeps its frequency, one that turns less than
// once is divided by the factor, and those between lie between, non-increasing in i.
static void test_rope_frequencies(void)
{
    const uint32_t R = 64;
    const double pi = 3.14159265358979323846;
    vkl_rope_params plain = { .base = 10000.0f }, linear = { .base = 10000.0f, .factor = 4.0f };
    vkl_rope_params yarn = { .base = 10000.0f, .factor = 40.0f, .yarn_context = 4096 };
    uint32_t kept = 0, divided = 0, blended = 0;
    double previous = INFINITY;
    for (uint32_t i = 0; i < R / 2; i++) {
        double f = pow(10000.0, -2.0 * i / R), turns = 4096.0 * f / (2.0 * pi), y = vkl_rope_freq(&yarn, R, i);
        EXPECT(vkl_rope_freq(&plain, R, i) == f);
        EXPECT(fabs(vkl_rope_freq(&linear, R, i) - f / 4.0) <= 1e-15 * f);
        if (turns > 32.0) kept += fabs(y - f) <= 1e-15 * f;
        else if (turns < 1.0) divided += fabs(y - f / 40.0) <= 1e-15 * f;
        else blended += y >= f / 40.0 * (1.0 - 1e-12) && y <= f * (1.0 + 1e-12);
        EXPECT(y <= previous);
        previous = y;
    }
    EXPECT(kept + divided + blended == R / 2);
    EXPECT(kept >= 8 && divided >= 8);  // both ends are wide at these sizes
}

static void test_kv_append_capacity(void)
{
    EXPECT(vkl_kv_append_fits(0, 512, 512));
    EXPECT(vkl_kv_append_fits(511, 1, 512));
    EXPECT(!vkl_kv_append_fits(512, 1, 512));          // prints why
    EXPECT(!vkl_kv_append_fits(500, 13, 512));
    EXPECT(!vkl_kv_append_fits(UINT32_MAX, 1, 512));  // no wrap-around
}

// Builds a llama2.c tokenizer file in memory: max length, then (score, length, bytes) per piece.
static size_t tokenizer_bytes(uint8_t *out, const char *const *pieces, int n)
{
    int32_t max_len = 2;
    size_t at = 0;
    memcpy(out, &max_len, 4);
    at += 4;
    for (int i = 0; i < n; i++) {
        float score = (float)-i;
        int32_t len = (int32_t)strlen(pieces[i]);
        memcpy(out + at, &score, 4);
        memcpy(out + at + 4, &len, 4);
        memcpy(out + at + 8, pieces[i], (size_t)len);
        at += 8 + (size_t)len;
    }
    return at;
}

// Found by fuzz_tokenizer: byte fallback in a vocabulary without byte pieces read past it.
static void test_tokenizer_small_vocabulary(void)
{
    static const char *const pieces[] = { "x", "y", "z", "xy" };
    uint8_t file[128];
    size_t size = tokenizer_bytes(file, pieces, 4);
    vkl_tokenizer t;
    EXPECT(vkl_tokenizer_parse_llama2c("test.tok", file, size, 0, &t) == VKL_OK && t.vocab_size == 4);
    uint32_t *ids = NULL;
    EXPECT(vkl_tokenizer_encode(&t, "xyq", VKL_ENCODE_ADD_SPECIAL, &ids) == VKL_OK);
    EXPECT(arrlen(ids) == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 0);  // BOS, "xy", <unk> for 'q'
    arrfree(ids);
    vkl_tokenizer_free(&t);
    size = tokenizer_bytes(file, pieces, 2);
    EXPECT(vkl_tokenizer_parse_llama2c("test.tok", file, size, 0, &t) != VKL_OK);  // prints why
}

// llama2.c's merging, as run.c does it: rescan every adjacent pair, merge the best-scoring one
// (the leftmost at a tie), until no pair is a piece. O(n^2); the reference for the queue.
static void naive_merges(const char *const *pieces, const float *scores, int n_pieces, uint32_t *ids, ptrdiff_t *count)
{
    for (;;) {
        float best = -1e10f;
        ptrdiff_t at = -1;
        int best_id = -1;
        for (ptrdiff_t i = 1; i + 1 < *count; i++) {  // ids[0] is BOS
            char joined[64];
            snprintf(joined, sizeof joined, "%s%s", pieces[ids[i]], pieces[ids[i + 1]]);
            for (int p = 0; p < n_pieces; p++)
                if (!strcmp(pieces[p], joined) && scores[p] > best) { best = scores[p]; at = i; best_id = p; }
        }
        if (at < 0) return;
        ids[at] = (uint32_t)best_id;
        memmove(ids + at + 1, ids + at + 2, (size_t)(*count - at - 2) * sizeof *ids);
        (*count)--;
    }
}

// The tokenizer's priority-queue merging gives llama2.c's merges on seeded random vocabularies
// (scores with ties) and texts.
static void test_tokenizer_merges_as_llama2c(void)
{
    vkl_rng rng;
    vkl_rng_seed(&rng, 20261203);
    for (int round = 0; round < 20; round++) {
        enum { N = 48 };
        char store[N][8];
        const char *pieces[N];
        float scores[N];
        int n = 0;
        const char *fixed[] = { "<unk>", "<s>", "</s>", " ", "a", "b", "c" };
        for (; n < 7; n++) { snprintf(store[n], sizeof store[n], "%s", fixed[n]); pieces[n] = store[n]; }
        while (n < N) {  // distinct pieces of 2-4 characters over " abc"
            int len = 2 + (int)(vkl_rng_next(&rng) % 3);
            for (int i = 0; i < len; i++) store[n][i] = " abc"[vkl_rng_next(&rng) % 4];
            store[n][len] = 0;
            bool seen = false;
            for (int p = 0; p < n; p++) seen |= !strcmp(pieces[p], store[n]);
            if (!seen) { pieces[n] = store[n]; n++; }
        }
        for (int i = 0; i < N; i++) scores[i] = (float)(vkl_rng_next(&rng) % 6);  // many ties
        uint8_t file[N * 16 + 8];
        int32_t max_len = 8;
        size_t at = 4;
        memcpy(file, &max_len, 4);
        for (int i = 0; i < N; i++) {
            int32_t len = (int32_t)strlen(pieces[i]);
            memcpy(file + at, &scores[i], 4);
            memcpy(file + at + 4, &len, 4);
            memcpy(file + at + 8, pieces[i], (size_t)len);
            at += 8 + (size_t)len;
        }
        vkl_tokenizer t;
        EXPECT(vkl_tokenizer_parse_llama2c("merges.tok", file, at, 0, &t) == VKL_OK);
        for (int text_round = 0; text_round < 10; text_round++) {
            char text[64];
            int len = 1 + (int)(vkl_rng_next(&rng) % 60);
            for (int i = 0; i < len; i++) text[i] = " abc"[vkl_rng_next(&rng) % 4];
            text[len] = 0;
            uint32_t *got = NULL, want[80];
            EXPECT(vkl_tokenizer_encode(&t, text, VKL_ENCODE_ADD_SPECIAL, &got) == VKL_OK);
            ptrdiff_t count = 0;
            want[count++] = 1;
            want[count++] = 3;  // llama2.c's space prefix
            for (int i = 0; i < len; i++) want[count++] = text[i] == ' ' ? 3u : (uint32_t)(4 + text[i] - 'a');
            naive_merges(pieces, scores, N, want, &count);
            bool same = arrlen(got) == count && !memcmp(got, want, (size_t)count * sizeof *want);
            EXPECT(same);
            if (!same) printf("  merges differ on '%s' (round %d)\n", text, round);
            arrfree(got);
        }
        vkl_tokenizer_free(&t);
    }
}

// UTF-8: where a valid prefix ends, and where printing may stop before an unfinished character.
static void test_utf8_boundaries(void)
{
    static const struct { const char *text; size_t invalid_at, complete; } cases[] = {
        { "abc", 3, 3 },
        { "a\xc3\xa9", 3, 3 },              // é whole
        { "a\xc3", 1, 1 },                   // é's first byte: held back
        { "a\xe2\x82", 1, 1 },              // € unfinished
        { "a\xe2\x82\xac", 4, 4 },         // € whole
        { "\xf0\x9f\xa6\x99", 4, 4 },     // U+1F999 whole
        { "\xf0\x9f\xa6", 0, 0 },          // unfinished four-byte character
        { "a\x80" "b", 1, 3 },                  // a stray continuation byte is not held back
        { "\xc0\xaf", 0, 2 },               // overlong '/'
        { "\xed\xa0\x80", 0, 3 },          // a UTF-16 surrogate
        { "\xf4\x90\x80\x80", 0, 4 },     // above U+10FFFF
        { "\xff", 0, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].text);
        EXPECT(vkl_utf8_invalid_at(cases[i].text, n) == cases[i].invalid_at);
        EXPECT(vkl_utf8_complete_prefix(cases[i].text, n) == cases[i].complete);
    }
}

static void test_pipeline_cache_envelope(void)
{
    vkl_device_info info = { .vendor_id = 0x10DE, .device_id = 0x2330 };
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) info.pipeline_cache_uuid[i] = (uint8_t)(i * 7);
    uint8_t payload[64] = { 0 };
    uint32_t header[4] = { 32, VK_PIPELINE_CACHE_HEADER_VERSION_ONE, info.vendor_id, info.device_id };
    memcpy(payload, header, sizeof header);
    memcpy(payload + 16, info.pipeline_cache_uuid, VK_UUID_SIZE);
    for (int i = 32; i < 64; i++) payload[i] = (uint8_t)i;
    size_t file_size = 0, size = 0;
    uint8_t *file = vkl_pipeline_cache_wrap(payload, sizeof payload, &file_size);
    const char *why = NULL;
    const uint8_t *got = vkl_pipeline_cache_check(file, file_size, &info, &size, &why);
    EXPECT(got && size == sizeof payload && memcmp(got, payload, size) == 0);

    file[file_size - 1] ^= 1;
    EXPECT(!vkl_pipeline_cache_check(file, file_size, &info, &size, &why) && !strcmp(why, "checksum mismatch"));
    file[file_size - 1] ^= 1;
    EXPECT(!vkl_pipeline_cache_check(file, file_size - 1, &info, &size, &why));
    EXPECT(!vkl_pipeline_cache_check(file, 10, &info, &size, &why) && !strcmp(why, "file too short"));
    file[0] = 'X';
    EXPECT(!vkl_pipeline_cache_check(file, file_size, &info, &size, &why) && !strcmp(why, "bad magic"));
    file[0] = 'V';
    info.pipeline_cache_uuid[3] ^= 1;  // a driver update changes the UUID
    EXPECT(!vkl_pipeline_cache_check(file, file_size, &info, &size, &why) &&
           !strcmp(why, "made by another device or driver"));
    free(file);
}

// A model of named tensor sizes only: what vkl_model_decode_weight_bytes reads.
static void add_sized_tensor(vkl_model *m, const char *name, uint64_t bytes)
{
    vkl_model_tensor t = { .bytes = bytes };
    snprintf(t.name, sizeof t.name, "%s", name);
    arrput(m->tensors, t);
}

static void test_inline_dispatch_choice(void)
{
    const uint64_t MiB = 1u << 20;
    vkl_model m = { .config = { .n_layers = 2 } };
    add_sized_tensor(&m, "token_embd.weight", 1000 * MiB);  // one row read per token: not counted
    add_sized_tensor(&m, "blk.0.attn_q.weight", MiB);
    add_sized_tensor(&m, "blk.1.attn_q.weight", MiB / 2);
    add_sized_tensor(&m, "output.weight", MiB / 2);
    EXPECT(vkl_model_decode_weight_bytes(&m) == 2.0 * MiB);
    EXPECT(vkl_model_prefers_inline_dispatch(&m));  // 1 MiB a layer: at the limit
    add_sized_tensor(&m, "output_norm.weight", 2);
    EXPECT(!vkl_model_prefers_inline_dispatch(&m));  // 2 bytes over it
    arrfree(m.tensors);

    vkl_model moe = { .config = { .n_layers = 1, .n_experts = 8, .n_experts_used = 2 } };
    add_sized_tensor(&moe, "blk.0.ffn_up_exps.weight", 4 * MiB);  // a token reads 2 of 8 experts
    EXPECT(vkl_model_decode_weight_bytes(&moe) == 1.0 * MiB);
    EXPECT(vkl_model_prefers_inline_dispatch(&moe));
    arrfree(moe.tensors);
}

// The variants the scheduler takes on a GPU and on a CPU device (tuned on an H100 and lavapipe).
static void test_variant_choice(void)
{
    unsetenv("VKLLM_READ_PATH");
    vkl_device_info gpu = { .type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .texel_reads = true };
    vkl_device_info cpu = { .type = VK_PHYSICAL_DEVICE_TYPE_CPU, .texel_reads = true };
    EXPECT(strcmp(vkl_attention_variant(&gpu, 1, 128, false), "decode_lanes.f32") == 0);
    EXPECT(strcmp(vkl_attention_variant(&gpu, 1, 64, false), "decode_lanes.f32") == 0);
    EXPECT(strcmp(vkl_attention_variant(&gpu, 1, 32, false), "decode.f32") == 0);  // too few lanes' worth
    EXPECT(strcmp(vkl_attention_variant(&gpu, 1, 128, true), "decode_lanes.f16") == 0);
    EXPECT(strcmp(vkl_attention_variant(&gpu, 1, 66, false), "decode.f32") == 0);  // lanes read 4 values at once
    EXPECT(strcmp(vkl_attention_variant(&gpu, 7, 128, false), "prefill_tiled.f32") == 0);
    EXPECT(strcmp(vkl_attention_variant(&gpu, 7, 256, false), "prefill.f32") == 0);  // over the tiles' shared memory
    EXPECT(strcmp(vkl_attention_variant(&cpu, 1, 128, false), "decode_texel.f32") == 0);
    EXPECT(strcmp(vkl_matmul_variant(&gpu, 512, 4096, true, false), "gemm_large.f16") == 0);
    EXPECT(strcmp(vkl_matmul_variant(&gpu, 256, 4096, false, false), "gemm_large.f32") == 0);
    EXPECT(strcmp(vkl_matmul_variant(&gpu, 255, 4096, false, false), "gemm.f32") == 0);
    EXPECT(strcmp(vkl_matmul_variant(&gpu, 512, 2048, true, false), "gemm.f16") == 0);  // TinyLlama: small tiles won
    EXPECT(strcmp(vkl_matmul_variant(&gpu, 1, 4096, true, false), "gemv_rows.f16") == 0);
    EXPECT(strcmp(vkl_matmul_variant(&cpu, 512, 4096, true, false), "gemm_texel.f16") == 0);
    EXPECT(vkl_attention_max_chunks(1) == 1 && vkl_attention_max_chunks(ATTN_CHUNK + 1) == 2);
}

static void test_json(void)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    vkl_json j;
    vkl_json_init(&j, out);
    vkl_json_begin_object(&j, NULL);
    vkl_json_string(&j, "name", "a \"b\"\\\n\x01");
    vkl_json_number(&j, "nan", NAN);
    vkl_json_begin_array(&j, "list");
    vkl_json_uint(&j, NULL, 7);
    vkl_json_bool(&j, NULL, true);
    vkl_json_end_array(&j);
    vkl_json_end_object(&j);
    fclose(out);
    EXPECT(!strcmp(text, "{\"name\":\"a \\\"b\\\"\\\\\\n\\u0001\",\"nan\":null,\"list\":[7,true]}\n"));
    free(text);
}

// ---- Weight formats. Random blocks come from one seed, printed (VKLLM_TEST_SEED=S repeats it).

static uint64_t format_seed;

static float gaussian(vkl_rng *rng)
{
    float u1 = vkl_rng_uniform(rng, 0x1p-24f, 1.0f), u2 = vkl_rng_uniform(rng, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318531f * u2);
}

enum { BLOCK_NORMAL, BLOCK_ZEROS, BLOCK_OUTLIER, BLOCK_CONSTANT, BLOCK_NEGATIVE, BLOCK_HEAVY_TAILS,
       BLOCK_SUB_SCALES, BLOCK_TINY, BLOCK_HALF_SILENT, BLOCK_KINDS };
static const char *const block_kind_names[BLOCK_KINDS] = { "N(0,1)", "zeros", "one outlier", "constant",
    "negative only", "N(0,1)^3", "scale per 16 values", "1e-3 N(0,1)", "second half 1e-4" };

// `count` values of one kind: the awkward cases a scale search must survive.
static void format_block_values(int kind, vkl_rng *rng, float *x, uint32_t count)
{
    float sub = 1.0f, constant = powf(10.0f, vkl_rng_uniform(rng, -6.0f, 0.6f));  // down into f16's subnormals
    if (vkl_rng_next(rng) & 1) constant = -constant;
    for (uint32_t i = 0; i < count; i++) {
        float g = gaussian(rng);
        if (i % 16 == 0) sub = powf(10.0f, vkl_rng_uniform(rng, -3.0f, 0.0f));
        switch (kind) {
        case BLOCK_ZEROS: x[i] = 0.0f; break;
        case BLOCK_OUTLIER: x[i] = i == count / 3 ? 100.0f : g; break;
        case BLOCK_CONSTANT: x[i] = constant; break;
        case BLOCK_NEGATIVE: x[i] = -fabsf(g); break;
        case BLOCK_HEAVY_TAILS: x[i] = g * g * g; break;
        case BLOCK_SUB_SCALES: x[i] = g * sub; break;
        case BLOCK_TINY: x[i] = 1e-3f * g; break;
        case BLOCK_HALF_SILENT: x[i] = i < count / 2 ? g : 1e-4f * g; break;
        default: x[i] = g; break;
        }
    }
}

// Each format's quants per value, for the error bounds below.
static int format_bits(const vkl_format *f)
{
    static const struct { const char *name; int bits; } bits[] = { { "q8_0", 8 }, { "q4_0", 4 }, { "q4_1", 4 },
        { "q5_0", 5 }, { "q5_1", 5 }, { "q2_k", 2 }, { "q3_k", 3 }, { "q4_k", 4 }, { "q5_k", 5 }, { "q6_k", 6 } };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (!strcmp(bits[i].name, f->name)) return bits[i].bits;
    return 0;
}

// The largest error a value of a block with max |x| = A may have, for the 32-value formats,
// whose quantizers round to nearest against one scale d (and minimum m) per block. f16 storage
// moves d by at most e(d) = max(2^-11 d, 2^-25) (the second: subnormal halves, below 2^-14),
// which |q| multiplies, and m by e(m) <= max(2^-11 A, 2^-25).
//   q8_0: d = A/127, error <= d/2 + 127 e(d)
//   q4_0: d = A/8, levels -8..7: the value opposite the largest (up to A, level +8) is clamped
//         to 7, error <= d + 8 e(d)
//   q5_0: d = A/16, likewise: error <= d + 16 e(d)
//   q4_1: d = (max - min)/15 <= 2A/15: error <= d/2 + 15 e(d) + e(m)
//   q5_1: d <= 2A/31: error <= d/2 + 31 e(d) + e(m)
// The K-quants fit sub-block scales by search, so they have no such proof: their bound is half
// a step of one scale spanning [-A, A] with all 2^bits levels, A / (2^bits - 1), which each
// sub-block's finer scale should stay under with the scale codes' rounding; as an RMSE, times
// 0.75 (the worst block over these kinds and 400 seeds measured 0.48), plus 2^bits 2^-25: the
// step d, at least 2^-24, rounds a scale by up to d/2, which |q| < 2^bits multiplies. A layout
// error costs a fraction of A, many times more. Returns false for K-quants (then *bound is an
// RMSE bound).
static bool format_error_bound(const vkl_format *f, double A, double *bound)
{
#define F16_ERROR(v) fmax(0x1p-11 * (v), 0x1p-25)
    const double slack = 1e-6 * A;  // the f32 arithmetic's own roundings
    if (!strcmp(f->name, "q8_0")) *bound = A / 127 / 2 + 127 * F16_ERROR(A / 127);
    else if (!strcmp(f->name, "q4_0")) *bound = A / 8 + 8 * F16_ERROR(A / 8);
    else if (!strcmp(f->name, "q5_0")) *bound = A / 16 + 16 * F16_ERROR(A / 16);
    else if (!strcmp(f->name, "q4_1")) *bound = A / 15 + 15 * F16_ERROR(2 * A / 15) + F16_ERROR(A);
    else if (!strcmp(f->name, "q5_1")) *bound = A / 31 + 31 * F16_ERROR(2 * A / 31) + F16_ERROR(A);
#undef F16_ERROR
    else {
        *bound = 0.75 * A / ((1 << format_bits(f)) - 1) + (1 << format_bits(f)) * 0x1p-25;
        return false;
    }
    *bound += slack;
    return true;
}

static void test_format_tables(void)
{
    const char *names[] = { "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k" };
    const uint32_t ggml[] = { 8, 2, 3, 6, 7, 10, 11, 12, 13, 14 };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const vkl_format *f = vkl_format_from_name(names[i]);
        EXPECT(f != NULL && f == vkl_format_from_ggml(ggml[i]) && vkl_format_of(f->dtype) == f);
    }
    EXPECT(vkl_format_from_name("Q4_K") == vkl_format_from_name("q4_k"));
    EXPECT(vkl_format_from_name("q4_") == NULL && vkl_format_from_name("q4_kk") == NULL);
    for (uint32_t k = 0; k < vkl_format_count(); k++) {
        const vkl_format *f = vkl_format_at(k);
        if (!vkl_format_is_quantized(f)) continue;
        // The fields cover every byte of the file's block once, and fit their planes.
        uint8_t covered[VKL_FORMAT_MAX_BLOCK] = { 0 };
        uint32_t plane_bytes[2] = { 0, 0 }, overlaps = 0;
        for (uint32_t i = 0; i < f->field_count; i++) {
            const vkl_format_field *field = &f->fields[i];
            for (uint32_t b = field->offset; b < (uint32_t)field->offset + field->bytes && b < f->block_bytes; b++)
                overlaps += covered[b]++;
            plane_bytes[field->plane] += field->bytes;
        }
        uint32_t uncovered = 0;
        for (uint32_t b = 0; b < f->block_bytes; b++) uncovered += !covered[b];
        EXPECT(overlaps == 0 && uncovered == 0 && plane_bytes[0] + plane_bytes[1] == f->block_bytes);
        EXPECT(plane_bytes[0] <= f->quant_bytes && plane_bytes[1] <= f->meta_bytes);
        EXPECT(f->quant_bytes % 16 == 0 && f->meta_bytes % 2 == 0 && f->block % f->unit == 0);
        EXPECT(format_bits(f) > 0 && f->dequantize && f->quantize);
    }
}

// (a) repack then unpack gives the file's bytes back, for any bytes; (c) byte counts of whole
// blocks only.
static void test_format_layouts(void)
{
    vkl_rng rng;
    vkl_rng_seed(&rng, format_seed);
    for (uint32_t k = 0; k < vkl_format_count(); k++) {
        const vkl_format *f = vkl_format_at(k);
        uint64_t count = 5 * (uint64_t)f->block, bytes = 0;
        EXPECT(vkl_format_file_bytes(f, count, &bytes) && bytes == 5ull * f->block_bytes);
        if (f->block > 1) {
            EXPECT(!vkl_format_file_bytes(f, count + 1, &bytes) && !vkl_format_file_bytes(f, count - 1, &bytes));
            EXPECT(!vkl_format_file_bytes(f, f->block / 2, &bytes));
        }
        // The largest count of whole blocks: its bytes overflow where a block has more bytes than values.
        uint64_t most = UINT64_MAX - UINT64_MAX % f->block, most_bytes = 0;
        bool fits = vkl_format_file_bytes(f, most, &most_bytes);
        EXPECT(fits == (f->block_bytes <= f->block) && (!fits || most_bytes / f->block_bytes == most / f->block));
        uint64_t device_bytes = vkl_format_device_bytes(f, count);
        uint8_t *file = malloc(bytes), *device = malloc(device_bytes), *back = malloc(bytes);
        for (uint64_t i = 0; i < bytes; i++) file[i] = (uint8_t)vkl_rng_next(&rng);
        memset(device, 0xAA, device_bytes);
        memset(back, 0x55, bytes);
        vkl_format_repack(f, file, count, device);
        vkl_format_unpack(f, device, count, back);
        EXPECT(memcmp(file, back, bytes) == 0);
        if (vkl_format_is_quantized(f)) {
            EXPECT(device_bytes == ((5ull * (f->quant_bytes + f->meta_bytes) + 3) & ~3ull));
            // The first field of each plane starts the block's share of that plane.
            for (uint32_t plane = 0; plane < 2; plane++) {
                const vkl_format_field *first = NULL;
                for (uint32_t i = 0; i < f->field_count && !first; i++)
                    if (f->fields[i].plane == plane) first = &f->fields[i];
                uint64_t base = plane ? 5ull * f->quant_bytes : 0, stride = plane ? f->meta_bytes : f->quant_bytes;
                const uint8_t *in_file = file + 3 * f->block_bytes + first->offset;
                EXPECT(memcmp(device + base + 3 * stride, in_file, first->bytes) == 0);
            }
        }
        free(file);
        free(device);
        free(back);
    }
}

// Q4_K's and Q5_K's 12 packed scale bytes: every 6-bit scale and minimum survives set then get.
static void test_format_scale_min_k4(void)
{
    int bad = 0;
    for (int v = 0; v < 64; v++) {
        uint8_t q[12] = { 0 };
        for (int j = 0; j < 8; j++)
            vkl_format_set_scale_min_k4(j, q, (uint8_t)((v + 7 * j) % 64), (uint8_t)((v + 13 * j + 5) % 64));
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            vkl_format_get_scale_min_k4(j, q, &sc, &m);
            bad += sc != (v + 7 * j) % 64 || m != (v + 13 * j + 5) % 64;
        }
    }
    EXPECT(bad == 0);
}

// (b) quantize -> dequantize: zeros stay exact; every block's error within format_error_bound.
static void test_format_quantization_error(void)
{
    vkl_rng rng;
    vkl_rng_seed(&rng, format_seed);
    printf("format quantization, seed %llu: worst block's RMSE (or max error) / bound, N(0,1) RMSE\n",
           (unsigned long long)format_seed);
    for (uint32_t k = 0; k < vkl_format_count(); k++) {
        const vkl_format *f = vkl_format_at(k);
        if (!vkl_format_is_quantized(f)) continue;
        float x[VKL_FORMAT_MAX_BLOCK], y[VKL_FORMAT_MAX_BLOCK];
        uint8_t block[VKL_FORMAT_MAX_BLOCK];
        double worst = 0.0, normal_sq = 0.0;
        int worst_kind = 0, zeros_exact = 1, trials = 64;
        for (int kind = 0; kind < BLOCK_KINDS; kind++) {
            for (int t = 0; t < trials; t++) {
                format_block_values(kind, &rng, x, f->block);
                f->quantize(x, block);
                f->dequantize(block, y);
                double A = 0.0, sq = 0.0, max_err = 0.0, bound;
                for (uint32_t i = 0; i < f->block; i++) {
                    double e = fabs((double)y[i] - x[i]);
                    A = fmax(A, fabs(x[i])), sq += e * e, max_err = fmax(max_err, e);
                }
                if (kind == BLOCK_ZEROS) zeros_exact &= max_err == 0.0;
                if (kind == BLOCK_NORMAL) normal_sq += sq;
                if (A == 0.0) continue;
                double measured = format_error_bound(f, A, &bound) ? max_err : sqrt(sq / f->block);
                double ratio = isnan(measured) ? INFINITY : measured / bound;
                if (ratio > worst) worst = ratio, worst_kind = kind;
            }
        }
        printf("  %-5s %.3f (%s), %.5f\n", f->name, worst, block_kind_names[worst_kind],
               sqrt(normal_sq / (trials * f->block)));
        EXPECT(zeros_exact);
        EXPECT(worst <= 1.0);
    }
}

int main(void)
{
    test_half_known_values();
    test_half_round_trip();
    test_rng();
    test_case_matching();
    test_bounds();
    test_ref_matmul();
    test_ref_rms_norm();
    test_kv_append_capacity();
    test_rope_frequencies();
    test_tokenizer_small_vocabulary();
    test_utf8_boundaries();
    test_tokenizer_merges_as_llama2c();
    test_pipeline_cache_envelope();
    test_inline_dispatch_choice();
    test_variant_choice();
    test_json();
    const char *seed = getenv("VKLLM_TEST_SEED");
    format_seed = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    test_format_tables();
    test_format_layouts();
    test_format_scale_min_k4();
    test_format_quantization_error();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
