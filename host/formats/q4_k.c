// Q4_K (ggml type 12): super-blocks of 256 values in 8 sub-blocks of 32, each with a 6-bit scale
// and minimum (packed in 12 bytes, see vkl_format_get_scale_min_k4), scaled by the f16 d and
// dmin; 4-bit quants q; value = d sc q - dmin m. ggml: struct { ggml_half d, dmin;
// uint8_t scales[12]; uint8_t qs[128]; }, 144 bytes: 32 bytes per 64 values, the low nibbles
// the first 32 (sub-block 2c), the high the next 32 (2c + 1). Device: the 128 quant bytes; d,
// dmin, scales in the meta plane (16 bytes).
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 256

static void dequantize(const uint8_t *block, float *values)
{
    uint16_t h[2];
    memcpy(h, block, 4);
    float d = vkl_f16_to_f32(h[0]), min = vkl_f16_to_f32(h[1]);
    const uint8_t *scales = block + 4, *q = block + 16;
    for (int c = 0; c < 4; c++, q += 32) {
        uint8_t sc, m;
        vkl_format_get_scale_min_k4(2 * c, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = min * (float)m;
        vkl_format_get_scale_min_k4(2 * c + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = min * (float)m;
        for (int l = 0; l < 32; l++) values[64 * c + l] = d1 * (float)(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++) values[64 * c + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
    }
}

static void quantize(const float *values, uint8_t *block)
{
    uint8_t L[QK], sc[8], mc[8];
    float w[32], s[8], mn[8];
    for (int b = 0; b < 8; b++) {
        vkl_format_k_weights(32, values + 32 * b, w);
        s[b] = vkl_format_fit_min(32, 15, values + 32 * b, w, L + 32 * b, &mn[b]);
    }
    uint16_t h[2] = { vkl_format_scales_unsigned(8, 63, s, sc), vkl_format_scales_unsigned(8, 63, mn, mc) };
    float d = vkl_f16_to_f32(h[0]), dmin = vkl_f16_to_f32(h[1]);
    memset(block, 0, 144);
    memcpy(block, h, 4);
    for (int b = 0; b < 8; b++) {  // the quants again, against the scales as stored
        vkl_format_k_weights(32, values + 32 * b, w);
        vkl_format_requantize_min(32, 15, values + 32 * b, w, d, dmin, 63, &sc[b], &mc[b], L + 32 * b);
        vkl_format_set_scale_min_k4(b, block + 4, sc[b], mc[b]);
    }
    for (int i = 0; i < QK; i++) block[16 + 32 * (i / 64) + i % 32] |= (uint8_t)(L[i] << (4 * (i % 64 / 32)));
}

const vkl_format vkl_format_q4_k = {
    .name = "q4_k", .dtype = VKL_DTYPE_Q4_K, .ggml_type = 12, .block = QK, .block_bytes = 144,
    .quant_bytes = 128, .meta_bytes = 16, .unit = 64,
    .fields = { { 16, 128, VKL_PLANE_QUANTS }, { 0, 2, VKL_PLANE_META, true }, { 2, 2, VKL_PLANE_META, true },
                { 4, 12, VKL_PLANE_META } },
    .field_count = 4,
    // d sc and dmin m are exact (11 x 6 bits), d1 q too (4 more bits): the subtraction is the
    // one rounding, the same with or without an fma, so the shader gives this value bit for bit.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
