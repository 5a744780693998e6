// Q2_K (ggml type 10): super-blocks of 256 values in 16 sub-blocks of 16. Each sub-block has a
// 4-bit scale and a 4-bit minimum (one byte: scale low, minimum high), scaled by the f16 d and
// dmin; 2-bit quants q; value = d sc q - dmin m. ggml: struct { uint8_t scales[16];
// uint8_t qs[64]; ggml_half d, dmin; }, 84 bytes. In each half n of 128 values, value
// 128 n + 32 j + l (l < 32) is bits 2j..2j+1 of qs[32 n + l], in sub-block 8 n + 2 j + l / 16.
// Device: the 64 quant bytes, then the 16 scale bytes (a vector of their own); d, dmin in the
// meta plane (4 bytes).
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 256

static void dequantize(const uint8_t *block, float *values)
{
    const uint8_t *scales = block, *qs = block + 16;
    uint16_t h[2];
    memcpy(h, block + 80, 4);
    float d = vkl_f16_to_f32(h[0]), dmin = vkl_f16_to_f32(h[1]);
    for (int i = 0; i < QK; i++) {
        int n = i / 128, j = i % 128 / 32, l = i % 32;
        uint8_t sc = scales[8 * n + 2 * j + l / 16];
        float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
        values[i] = dl * (float)((qs[32 * n + l] >> (2 * j)) & 3) - ml;
    }
}

static void quantize(const float *values, uint8_t *block)
{
    uint8_t L[QK], sc[16], mc[16];
    float w[16], s[16], mn[16];
    for (int b = 0; b < 16; b++) {
        vkl_format_k_weights(16, values + 16 * b, w);
        s[b] = vkl_format_fit_min(16, 3, values + 16 * b, w, L + 16 * b, &mn[b]);
    }
    uint16_t h[2] = { vkl_format_scales_unsigned(16, 15, s, sc), vkl_format_scales_unsigned(16, 15, mn, mc) };
    float d = vkl_f16_to_f32(h[0]), dmin = vkl_f16_to_f32(h[1]);
    memset(block, 0, 84);
    memcpy(block + 80, h, 4);
    for (int b = 0; b < 16; b++) {  // the quants again, against the scales as stored
        vkl_format_k_weights(16, values + 16 * b, w);
        vkl_format_requantize_min(16, 3, values + 16 * b, w, d, dmin, 15, &sc[b], &mc[b], L + 16 * b);
        block[b] = (uint8_t)(sc[b] | mc[b] << 4);
    }
    for (int i = 0; i < QK; i++) block[16 + 32 * (i / 128) + i % 32] |= (uint8_t)(L[i] << (2 * (i % 128 / 32)));
}

const vkl_format vkl_format_q2_k = {
    .name = "q2_k", .dtype = VKL_DTYPE_Q2_K, .ggml_type = 10, .block = QK, .block_bytes = 84,
    .quant_bytes = 80, .meta_bytes = 4, .unit = 128,
    .fields = { { 16, 64, VKL_PLANE_QUANTS }, { 0, 16, VKL_PLANE_QUANTS }, { 80, 2, VKL_PLANE_META, true },
                { 82, 2, VKL_PLANE_META, true } },
    .field_count = 4,
    // d sc and dmin m are exact (11 x 4 bits), dl q too (2 more bits): the subtraction is the
    // one rounding, the same with or without an fma, so the shader gives this value bit for bit.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
