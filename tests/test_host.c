// Unit tests of the host code: half conversion, RNG, case selection, error bounds, the CPU
// references against independent computations, the pipeline-cache envelope and JSON output.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_ds.h>

#include "host/bounds.h"
#include "host/check.h"
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
    EXPECT(vkl_tokenizer_encode(&t, "xyq", true, &ids) == VKL_OK);
    EXPECT(arrlen(ids) == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 0);  // BOS, "xy", <unk> for 'q'
    arrfree(ids);
    vkl_tokenizer_free(&t);
    size = tokenizer_bytes(file, pieces, 2);
    EXPECT(vkl_tokenizer_parse_llama2c("test.tok", file, size, 0, &t) != VKL_OK);  // prints why
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
    test_tokenizer_small_vocabulary();
    test_pipeline_cache_envelope();
    test_inline_dispatch_choice();
    test_variant_choice();
    test_json();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
