// Q6_K (ggml type 14): super-blocks of 256 values in 16 sub-blocks of 16 with int8 scales times
// the f16 d; 6-bit quants q stored + 32: low nibbles in ql[128], 2 high bits in qh[64].
// value = d sc (q - 32). ggml: struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16];
// ggml_half d; }, 210 bytes. In half n (ql, qh from 64 n and 32 n), value 128 n + 32 k + l
// (l < 32) has the low (k < 2) or high (k >= 2) nibble of ql[l + 32 (k % 2)], bits 2k..2k+1 of
// qh[l], sub-block 8 n + 2 k + l / 16. Device: ql, qh, scales (208 bytes, the scales a vector
// of their own); d in the meta plane (2 bytes).
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 256

static void dequantize(const uint8_t *block, float *values)
{
    const int8_t *scales = (const int8_t *)(block + 192);
    uint16_t h;
    memcpy(&h, block + 208, 2);
    float d = vkl_f16_to_f32(h);
    for (int i = 0; i < QK; i++) {
        int n = i / 128, k = i % 128 / 32, l = i % 32;
        const uint8_t *ql = block + 64 * n, *qh = block + 128 + 32 * n;
        int low = (ql[l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
        int q = (low | ((qh[l] >> (2 * k)) & 3) << 4) - 32;
        values[i] = d * (float)scales[8 * n + 2 * k + l / 16] * (float)q;
    }
}

static void quantize(const float *values, uint8_t *block)
{
    int8_t L[QK], sc[16];
    float w[16], s[16];
    for (int b = 0; b < 16; b++) {
        vkl_format_k_weights(16, values + 16 * b, w);
        s[b] = vkl_format_fit_sym(16, 32, values + 16 * b, w, L + 16 * b);
    }
    uint16_t h = vkl_format_scales_signed(16, 128, s, sc);
    float d = vkl_f16_to_f32(h);
    memset(block, 0, 210);
    for (int b = 0; b < 16; b++) {  // the quants again, against the scales as stored
        vkl_format_k_weights(16, values + 16 * b, w);
        vkl_format_requantize_sym(16, 32, values + 16 * b, w, d, 128, &sc[b], L + 16 * b);
    }
    memcpy(block + 192, sc, 16);
    memcpy(block + 208, &h, 2);
    for (int i = 0; i < QK; i++) {
        int n = i / 128, k = i % 128 / 32, l = i % 32, q = L[i] + 32;
        block[64 * n + l + 32 * (k % 2)] |= (uint8_t)((q & 0xF) << (4 * (k / 2)));
        block[128 + 32 * n + l] |= (uint8_t)((q >> 4) << (2 * k));
    }
}

const vkl_format vkl_format_q6_k = {
    .name = "q6_k", .dtype = VKL_DTYPE_Q6_K, .ggml_type = 14, .block = QK, .block_bytes = 210,
    .quant_bytes = 208, .meta_bytes = 2, .unit = 128, .scale_sub = 16,
    .fields = { { 0, 128, VKL_PLANE_QUANTS }, { 128, 64, VKL_PLANE_QUANTS }, { 192, 16, VKL_PLANE_QUANTS },
                { 208, 2, VKL_PLANE_META, true } },
    .field_count = 4,
    // (d sc) q as ggml groups it is exact: |sc| <= 128 takes at most 7 significant bits (128 is
    // one), |q| <= 32 at most 5 (32 is one), d 11: at most 23 bits, so no rounding in any grouping.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
