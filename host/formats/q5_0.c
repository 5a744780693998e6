// Q5_0 (ggml type 6): blocks of 32 values, an f16 scale d and 5-bit quants q; value = d (q - 16).
// ggml: struct { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }, 22 bytes: qs as Q4_0's low 4
// bits, bit j of the little-endian 32-bit qh the fifth bit of value j. Device: the 16 quant
// bytes; qh then d in the meta plane (8 bytes, the last 2 zero).
#include <math.h>
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
    uint16_t h;
    memcpy(&h, block, 2);
    float d = vkl_f16_to_f32(h);
    uint32_t qh = load_qh(block + 2);
    const uint8_t *qs = block + 6;
    for (int j = 0; j < QK / 2; j++) {
        int q0 = (int)((qs[j] & 0xF) | ((qh >> j) & 1) << 4);
        int q1 = (int)((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
        values[j] = (float)(q0 - 16) * d;
        values[j + QK / 2] = (float)(q1 - 16) * d;
    }
}

// ggml's reference, operation for operation (gguf-py's quantize gives the same bytes): the value
// of largest magnitude maps to -16 (d = max / -16), q = trunc(x / d + 16.5) capped at 31.
static void quantize(const float *values, uint8_t *block)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++)
        if (fabsf(values[j]) > amax) amax = fabsf(values[j]), max = values[j];
    float d = max / -16.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = vkl_f32_to_f16(d);
    memcpy(block, &h, 2);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        float x0 = values[j] * id, x1 = values[j + QK / 2] * id;
        int q0 = (int)(x0 + 16.5f), q1 = (int)(x1 + 16.5f);  // in 0..32: |x id| <= 16
        q0 = q0 < 31 ? q0 : 31, q1 = q1 < 31 ? q1 : 31;
        block[6 + j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
        qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) block[2 + k] = (uint8_t)(qh >> (8 * k));
}

const vkl_format vkl_format_q5_0 = {
    .name = "q5_0", .dtype = VKL_DTYPE_Q5_0, .ggml_type = 6, .block = QK, .block_bytes = 22,
    .quant_bytes = 16, .meta_bytes = 8, .unit = 32, .scale_sub = 32,
    .fields = { { 6, 16, VKL_PLANE_QUANTS }, { 2, 4, VKL_PLANE_META }, { 0, 2, VKL_PLANE_META, true } }, .field_count = 3,
    .dequant_ulps = 0.0,  // f16 d (11 significant bits) times q - 16 (5 bits) is exact in f32
    .dequantize = dequantize, .quantize = quantize,
};
