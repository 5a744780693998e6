// The weight-format table and the layout code shared by every format (host/formats.h).
#include "host/formats.h"

#include <ctype.h>
#include <string.h>

#include "host/half.h"

static void dequantize_f32(const uint8_t *block, float *values) { memcpy(values, block, 4); }
static void quantize_f32(const float *values, uint8_t *block) { memcpy(block, values, 4); }
static void dequantize_f16(const uint8_t *block, float *values)
{
    uint16_t h;
    memcpy(&h, block, 2);
    values[0] = vkl_f16_to_f32(h);
}
static void quantize_f16(const float *values, uint8_t *block)
{
    uint16_t h = vkl_f32_to_f16(values[0]);
    memcpy(block, &h, 2);
}

static const vkl_format format_f32 = { .name = "f32", .dtype = VKL_DTYPE_F32, .ggml_type = 0, .block = 1,
                                       .block_bytes = 4, .dequantize = dequantize_f32, .quantize = quantize_f32 };
static const vkl_format format_f16 = { .name = "f16", .dtype = VKL_DTYPE_F16, .ggml_type = 1, .block = 1,
                                       .block_bytes = 2, .dequantize = dequantize_f16, .quantize = quantize_f16 };

#define DECLARE_FORMAT(upper, lower) extern const vkl_format vkl_format_##lower;
VKLLM_FORMATS(DECLARE_FORMAT)
#define FORMAT_ENTRY(upper, lower) &vkl_format_##lower,
static const vkl_format *const formats[] = { &format_f32, &format_f16, VKLLM_FORMATS(FORMAT_ENTRY) };
#define FORMAT_COUNT (sizeof formats / sizeof formats[0])

uint32_t vkl_format_count(void) { return FORMAT_COUNT; }
const vkl_format *vkl_format_at(uint32_t index) { return index < FORMAT_COUNT ? formats[index] : NULL; }

const vkl_format *vkl_format_of(vkl_dtype dtype)
{
    if (dtype == VKL_DTYPE_F32) return &format_f32;
    if (dtype == VKL_DTYPE_F16) return &format_f16;
    if (!vkl_dtype_is_quantized(dtype)) return NULL;
    return formats[2 + (dtype - VKL_DTYPE_U32 - 1)];
}

const vkl_format *vkl_format_from_ggml(uint32_t ggml_type)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        if (formats[i]->ggml_type == ggml_type) return formats[i];
    return NULL;
}

const vkl_format *vkl_format_from_name(const char *name)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        const char *a = formats[i]->name, *b = name;
        while (*a && tolower((unsigned char)*b) == *a) a++, b++;
        if (!*a && !*b) return formats[i];
    }
    return NULL;
}

bool vkl_format_file_bytes(const vkl_format *f, uint64_t count, uint64_t *bytes)
{
    if (count % f->block) return false;
    uint64_t blocks = count / f->block;
    if (blocks > UINT64_MAX / f->block_bytes) return false;
    *bytes = blocks * f->block_bytes;
    return true;
}

uint64_t vkl_format_device_bytes(const vkl_format *f, uint64_t count)
{
    uint64_t blocks = (count + f->block - 1) / f->block;
    uint64_t bytes = vkl_format_is_quantized(f) ? blocks * (f->quant_bytes + f->meta_bytes) : blocks * f->block_bytes;
    return (bytes + 3) & ~(uint64_t)3;
}

// Copies one block between ggml's layout and the two planes; to_planes picks the direction.
static void move_block(const vkl_format *f, uint8_t *block, uint8_t *quants, uint8_t *meta, bool to_planes)
{
    uint32_t at[2] = { 0, 0 };
    uint8_t *plane[2] = { quants, meta };
    for (uint32_t i = 0; i < f->field_count; i++) {
        const vkl_format_field *field = &f->fields[i];
        uint8_t *device = plane[field->plane] + at[field->plane];
        if (to_planes) memcpy(device, block + field->offset, field->bytes);
        else memcpy(block + field->offset, device, field->bytes);
        at[field->plane] += field->bytes;
    }
}

void vkl_format_repack(const vkl_format *f, const uint8_t *file, uint64_t count, uint8_t *device)
{
    uint64_t size = vkl_format_device_bytes(f, count);
    if (!vkl_format_is_quantized(f)) {
        memset(device, 0, size);
        memcpy(device, file, count * f->block_bytes);
        return;
    }
    memset(device, 0, size);  // padding inside blocks and at the end is zero
    uint64_t blocks = count / f->block;
    uint8_t *meta = device + blocks * f->quant_bytes;
    uint8_t block[VKL_FORMAT_MAX_BLOCK + 64];
    for (uint64_t b = 0; b < blocks; b++) {
        memcpy(block, file + b * f->block_bytes, f->block_bytes);
        move_block(f, block, device + b * f->quant_bytes, meta + b * f->meta_bytes, true);
    }
}

void vkl_format_unpack(const vkl_format *f, const uint8_t *device, uint64_t count, uint8_t *file)
{
    if (!vkl_format_is_quantized(f)) {
        memcpy(file, device, count * f->block_bytes);
        return;
    }
    uint64_t blocks = count / f->block;
    const uint8_t *meta = device + blocks * f->quant_bytes;
    for (uint64_t b = 0; b < blocks; b++)
        move_block(f, file + b * f->block_bytes, (uint8_t *)device + b * f->quant_bytes,
                   (uint8_t *)meta + b * f->meta_bytes, false);
}

void vkl_format_dequantize(const vkl_format *f, const uint8_t *file, uint64_t count, float *values)
{
    for (uint64_t b = 0; b < count / f->block; b++) f->dequantize(file + b * f->block_bytes, values + b * f->block);
}

void vkl_format_quantize(const vkl_format *f, const float *values, uint64_t count, uint8_t *file)
{
    for (uint64_t b = 0; b < count / f->block; b++) f->quantize(values + b * f->block, file + b * f->block_bytes);
}

int vkl_format_round(float value)
{
    // Adding 1.5 * 2^23 leaves the integer nearest to `value` (ties to even) in the sum's low
    // mantissa bits, for |value| < 2^22: the rounding of ggml's K-quant quantizers.
    float r = value + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &r, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

void vkl_format_get_scale_min_k4(int j, const uint8_t *q, uint8_t *scale, uint8_t *min)
{
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *min = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void vkl_case_add_table_blocks(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                               size_t rows, uint32_t k_dim, const vkl_format *format)
{
    for (size_t i = 0; i < rows; i++) {
        const uint32_t *dims = table + i * kernel->dim_count;
        if (dims[k_dim] % format->block == 0) vkl_case_add(cases, kernel, variant, dims);
    }
}
