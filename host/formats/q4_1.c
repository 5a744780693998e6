// Q4_1 (ggml type 3): blocks of 32 values, an f16 scale d and minimum m, 4-bit quants q;
// value = d q + m. ggml: struct { ggml_half d, m; uint8_t qs[16]; }, 20 bytes; byte j holds
// value j (low nibble) and j + 16 (high). Device: the 16 quant bytes; d and m in the meta plane.
#include <float.h>
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 32

static void dequantize(const uint8_t *block, float *values)
{
    uint16_t h[2];
    memcpy(h, block, 4);
    float d = vkl_f16_to_f32(h[0]), m = vkl_f16_to_f32(h[1]);
    const uint8_t *qs = block + 4;
    for (int j = 0; j < QK / 2; j++) {
        values[j] = (float)(qs[j] & 0xF) * d + m;
        values[j + QK / 2] = (float)(qs[j] >> 4) * d + m;
    }
}

// ggml's reference, operation for operation (gguf-py's quantize gives the same bytes): d spans
// min..max in 15 steps, q = trunc((x - min) / d + 0.5) capped at 15; the f32 d and min are used
// for q, their f16 roundings are stored.
static void quantize(const float *values, uint8_t *block)
{
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (values[j] < min) min = values[j];
        if (values[j] > max) max = values[j];
    }
    float d = (max - min) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h[2] = { vkl_f32_to_f16(d), vkl_f32_to_f16(min) };
    memcpy(block, h, 4);
    for (int j = 0; j < QK / 2; j++) {
        float x0 = (values[j] - min) * id, x1 = (values[j + QK / 2] - min) * id;
        int q0 = (int)(x0 + 0.5f), q1 = (int)(x1 + 0.5f);
        block[4 + j] = (uint8_t)((q0 < 15 ? q0 : 15) | (q1 < 15 ? q1 : 15) << 4);
    }
}

const vkl_format vkl_format_q4_1 = {
    .name = "q4_1", .dtype = VKL_DTYPE_Q4_1, .ggml_type = 3, .block = QK, .block_bytes = 20,
    .quant_bytes = 16, .meta_bytes = 4, .unit = 32,
    .fields = { { 4, 16, VKL_PLANE_QUANTS }, { 0, 2, VKL_PLANE_META, true }, { 2, 2, VKL_PLANE_META, true } }, .field_count = 3,
    // q d is exact (4 x 11 bits), so the add is the one rounding, the same with or without an
    // fma: shaders/formats/q4_1.glsl gives this value bit for bit.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
