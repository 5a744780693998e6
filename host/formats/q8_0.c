// Q8_0 (ggml type 8): blocks of 32 values, an f16 scale d and 32 int8 quants q; value = d q.
// ggml: struct { ggml_half d; int8_t qs[32]; }, 34 bytes. Device: the quants (32 bytes), then
// d in the meta plane (2 bytes).
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
    const int8_t *q = (const int8_t *)(block + 2);
    for (int i = 0; i < QK; i++) values[i] = d * (float)q[i];
}

// ggml's reference: d = max |x| / 127, q = round(x / d), half away from zero.
static void quantize(const float *values, uint8_t *block)
{
    float amax = 0.0f;
    for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(values[i]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = vkl_f32_to_f16(d);
    memcpy(block, &h, 2);
    int8_t *q = (int8_t *)(block + 2);
    for (int i = 0; i < QK; i++) q[i] = (int8_t)roundf(values[i] * id);
}

const vkl_format vkl_format_q8_0 = {
    .name = "q8_0", .dtype = VKL_DTYPE_Q8_0, .ggml_type = 8, .block = QK, .block_bytes = 34,
    .quant_bytes = 32, .meta_bytes = 2, .unit = 32, .scale_sub = 32,
    .fields = { { 2, 32, VKL_PLANE_QUANTS }, { 0, 2, VKL_PLANE_META, true } }, .field_count = 2,
    .dequant_ulps = 0.0,  // f16 d (11 bits) times an 8-bit q is exact in f32
    .dequantize = dequantize, .quantize = quantize,
};
