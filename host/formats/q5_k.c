// Q5_K (ggml type 13): Q4_K with a fifth bit per value. ggml: struct { ggml_half d, dmin;
// uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; }, 176 bytes: qs as Q4_K's low 4 bits;
// for chunk c of 64 values, bit 2c of qh[l] is value 64c + l's fifth bit, bit 2c + 1 value
// 64c + 32 + l's. value = d sc q - dmin m. Device: qh then qs (160 bytes) in the quants plane;
// d, dmin, scales in the meta plane (16 bytes).
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 256

static void dequantize(const uint8_t *block, float *values)
{
    uint16_t h[2];
    memcpy(h, block, 4);
    float d = vkl_f16_to_f32(h[0]), min = vkl_f16_to_f32(h[1]);
    const uint8_t *scales = block + 4, *qh = block + 16, *ql = block + 48;
    for (int c = 0; c < 4; c++, ql += 32) {
        uint8_t sc, m;
        vkl_format_get_scale_min_k4(2 * c, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = min * (float)m;
        vkl_format_get_scale_min_k4(2 * c + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = min * (float)m;
        for (int l = 0; l < 32; l++)
            values[64 * c + l] = d1 * (float)((ql[l] & 0xF) + ((qh[l] >> (2 * c)) & 1) * 16) - m1;
        for (int l = 0; l < 32; l++)
            values[64 * c + 32 + l] = d2 * (float)((ql[l] >> 4) + ((qh[l] >> (2 * c + 1)) & 1) * 16) - m2;
    }
}

static void quantize(const float *values, uint8_t *block)
{
    uint8_t L[QK], sc[8], mc[8];
    float w[32], s[8], mn[8];
    for (int b = 0; b < 8; b++) {
        vkl_format_k_weights(32, values + 32 * b, w);
        s[b] = vkl_format_fit_min(32, 31, values + 32 * b, w, L + 32 * b, &mn[b]);
    }
    uint16_t h[2] = { vkl_format_scales_unsigned(8, 63, s, sc), vkl_format_scales_unsigned(8, 63, mn, mc) };
    float d = vkl_f16_to_f32(h[0]), dmin = vkl_f16_to_f32(h[1]);
    memset(block, 0, 176);
    memcpy(block, h, 4);
    for (int b = 0; b < 8; b++) {  // the quants again, against the scales as stored
        vkl_format_k_weights(32, values + 32 * b, w);
        vkl_format_requantize_min(32, 31, values + 32 * b, w, d, dmin, 63, &sc[b], &mc[b], L + 32 * b);
        vkl_format_set_scale_min_k4(b, block + 4, sc[b], mc[b]);
    }
    for (int i = 0; i < QK; i++) {
        int c = i / 64, half = i % 64 / 32, l = i % 32;
        block[48 + 32 * c + l] |= (uint8_t)((L[i] & 0xF) << (4 * half));
        block[16 + l] |= (uint8_t)((L[i] >> 4) << (2 * c + half));
    }
}

const vkl_format vkl_format_q5_k = {
    .name = "q5_k", .dtype = VKL_DTYPE_Q5_K, .ggml_type = 13, .block = QK, .block_bytes = 176,
    .quant_bytes = 160, .meta_bytes = 16, .unit = 64,
    .fields = { { 16, 32, VKL_PLANE_QUANTS }, { 48, 128, VKL_PLANE_QUANTS }, { 0, 2, VKL_PLANE_META, true },
                { 2, 2, VKL_PLANE_META, true }, { 4, 12, VKL_PLANE_META } },
    .field_count = 5,
    // d sc and dmin m are exact (11 x 6 bits), d1 q too (5 more bits): the subtraction is the
    // one rounding, the same with or without an fma, so the shader gives this value bit for bit.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
