// Q3_K (ggml type 11): super-blocks of 256 values in 16 sub-blocks of 16 with signed 6-bit
// scales (stored + 32, packed in 12 bytes) times the f16 d; 3-bit quants q in -4..3: the low two
// bits as Q2_K's, the third in hmask (value i: bit i / 32 of hmask[i % 32]; clear means minus 4).
// value = d (sc - 32) q. ggml: struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12];
// ggml_half d; }, 110 bytes. Scale code j: low 4 bits in scales[j] (j < 8, low nibble) or
// scales[j - 8] (high nibble), top 2 bits at bit 2 (j / 4) of scales[8 + j % 4].
// Device: hmask then qs (96 bytes) in the quants plane; scales, d in the meta plane (16 bytes).
#include <string.h>

#include "host/formats.h"
#include "host/half.h"

#define QK 256

static int scale_code(const uint8_t *scales, int j)
{
    int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    return low | ((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
}

static void dequantize(const uint8_t *block, float *values)
{
    const uint8_t *hmask = block, *qs = block + 32, *scales = block + 96;
    uint16_t h;
    memcpy(&h, block + 108, 2);
    float d = vkl_f16_to_f32(h);
    for (int i = 0; i < QK; i++) {
        int n = i / 128, j = i % 128 / 32, l = i % 32;
        float dl = d * (float)(scale_code(scales, 8 * n + 2 * j + l / 16) - 32);
        int q = ((qs[32 * n + l] >> (2 * j)) & 3) - ((hmask[l] >> (4 * n + j)) & 1 ? 0 : 4);
        values[i] = dl * (float)q;
    }
}

static void quantize(const float *values, uint8_t *block)
{
    int8_t L[QK], sc[16];
    float w[16], s[16];
    for (int b = 0; b < 16; b++) {
        vkl_format_k_weights(16, values + 16 * b, w);
        s[b] = vkl_format_fit_sym(16, 4, values + 16 * b, w, L + 16 * b);
    }
    uint16_t h = vkl_format_scales_signed(16, 32, s, sc);
    float d = vkl_f16_to_f32(h);
    memset(block, 0, 110);
    memcpy(block + 108, &h, 2);
    uint8_t *scales = block + 96;
    for (int b = 0; b < 16; b++) {  // the quants again, against the scales as stored
        vkl_format_k_weights(16, values + 16 * b, w);
        vkl_format_requantize_sym(16, 4, values + 16 * b, w, d, 32, &sc[b], L + 16 * b);
        int code = sc[b] + 32;
        scales[b % 8] |= (uint8_t)((code & 0xF) << (4 * (b / 8)));
        scales[8 + b % 4] |= (uint8_t)((code >> 4) << (2 * (b / 4)));
    }
    for (int i = 0; i < QK; i++) {
        int n = i / 128, j = i % 128 / 32, l = i % 32, q = L[i] + 4;
        block[32 + 32 * n + l] |= (uint8_t)((q & 3) << (2 * j));
        block[l] |= (uint8_t)((q >> 2) << (4 * n + j));
    }
}

const vkl_format vkl_format_q3_k = {
    .name = "q3_k", .dtype = VKL_DTYPE_Q3_K, .ggml_type = 11, .block = QK, .block_bytes = 110,
    .quant_bytes = 96, .meta_bytes = 16, .unit = 128, .scale_sub = 16,
    .fields = { { 0, 32, VKL_PLANE_QUANTS }, { 32, 64, VKL_PLANE_QUANTS }, { 96, 12, VKL_PLANE_META },
                { 108, 2, VKL_PLANE_META, true } },
    .field_count = 4,
    // d (sc - 32) is exact (11 x 6 bits), and times q in -4..3 (3 more bits) still: no rounding.
    .dequant_ulps = 0.0,
    .dequantize = dequantize, .quantize = quantize,
};
