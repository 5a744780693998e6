// Q4_0 (ggml type 2): blocks of 32 values, an f16 scale d and 4-bit quants q; value = d (q - 8).
// ggml: struct { ggml_half d; uint8_t qs[16]; }, 18 bytes; byte j holds value j (low nibble)
// and value j + 16 (high). Device: the 16 quant bytes, then d in the meta plane (2 bytes).
#include <math.h>
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 32

static void dequantize(const uint8_t *block, float *values)
{
    uint16_t h;
    memcpy(&h, block, 2);
    float d = vkl_f16_to_f32(h);
    const uint8_t *qs = block + 2;
    for (int j = 0; j < QK / 2; j++) {
        values[j] = (float)((qs[j] & 0xF) - 8) * d;
        values[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
    }
}

// ggml's reference, operation for operation (gguf-py's quantize gives the same bytes): the value
// of largest magnitude maps to -8 (d = max / -8, so it takes the level with no +8 partner), and
// q = trunc(x / d + 8.5) capped at 15.
static void quantize(const float *values, uint8_t *block)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++)
        if (fabsf(values[j]) > amax) amax = fabsf(values[j]), max = values[j];
    float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = vkl_f32_to_f16(d);
    memcpy(block, &h, 2);
    for (int j = 0; j < QK / 2; j++) {
        float x0 = values[j] * id, x1 = values[j + QK / 2] * id;
        int q0 = (int)(x0 + 8.5f), q1 = (int)(x1 + 8.5f);  // in 0..16: |x id| <= 8
        block[2 + j] = (uint8_t)((q0 < 15 ? q0 : 15) | (q1 < 15 ? q1 : 15) << 4);
    }
}

const vkl_format vkl_format_q4_0 = {
    .name = "q4_0", .dtype = VKL_DTYPE_Q4_0, .ggml_type = 2, .block = QK, .block_bytes = 18,
    .quant_bytes = 16, .meta_bytes = 2, .unit = 32, .scale_sub = 32,
    .fields = { { 2, 16, VKL_PLANE_QUANTS }, { 0, 2, VKL_PLANE_META, true } }, .field_count = 2,
    .dequant_ulps = 0.0,  // f16 d (11 significant bits) times q - 8 (5 bits) is exact in f32
    .dequantize = dequantize, .quantize = quantize,
};
