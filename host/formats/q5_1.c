// Q5_1 (ggml type 7): blocks of 32 values, an f16 scale d and minimum m, 5-bit quants q;
// value = d q + m. ggml: struct { ggml_half d, m; uint8_t qh[4]; uint8_t qs[16]; }, 24 bytes,
// qh and qs as Q5_0's. Device: the 16 quant bytes; qh, d, m in the meta plane (8 bytes).
#include <float.h>
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 32

static uint32_t load_qh(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void dequantize(const uint8_t *block, float *values)
{
    uint16_t h[2];
    memcpy(h, block, 4);
    float d = vkl_f16_to_f32(h[0]), m = vkl_f16_to_f32(h[1]);
    uint32_t qh = load_qh(block + 4);
    const uint8_t *qs = block + 8;
    for (int j = 0; j < QK / 2; j++) {
        int q0 = (int)((qs[j] & 0xF) | ((qh >> j) & 1) << 4);
        int q1 = (int)((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
        values[j] = (float)q0 * d + m;
        values[j + QK / 2] = (float)q1 * d + m;
    }
}

// ggml's reference, operation for operation (gguf-py's quantize gives the same bytes): d spans
// min..max in 31 steps, q = trunc((x - min) / d + 0.5) (at most 31: (max - min) / d rounds to
// 31 within an ulp or two); the f32 d and min are used for q, their f16 roundings stored.
static void quantize(const float *values, uint8_t *block)
{
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (values[j] < min) min = values[j];
        if (values[j] > max) max = values[j];
    }
    float d = (max - min) / 31.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h[2] = { vkl_f32_to_f16(d), vkl_f32_to_f16(min) };
    memcpy(block, h, 4);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        float x0 = (values[j] - min) * id, x1 = (values[j + QK / 2] - min) * id;
        int q0 = (int)(x0 + 0.5f), q1 = (int)(x1 + 0.5f);
        q0 = q0 < 31 ? q0 : 31, q1 = q1 < 31 ? q1 : 31;
        block[8 + j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
        qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) block[4 + k] = (uint8_t)(qh >> (8 * k));
}

const vkl_format vkl_format_q5_1 = {
    .name = "q5_1", .dtype = VKL_DTYPE_Q5_1, .ggml_type = 7, .block = QK, .block_bytes = 24,
    .quant_bytes = 16, .meta_bytes = 8, .unit = 32,
    .fields = { { 8, 16, VKL_PLANE_QUANTS }, { 4, 4, VKL_PLANE_META }, { 0, 2, VKL_PLANE_META, true },
                { 2, 2, VKL_PLANE_META, true } },
    .field_count = 4,
    // q d is exact (5 x 11 bits), so the add is the one rounding, the same with or without an
    // fma: shaders/formats/q5_1.glsl gives this value bit for bit.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
