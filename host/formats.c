// The weight-format table and the layout code shared by every format (host/formats.h).
#include "host/formats.h"

#include <ctype.h>
#include <math.h>
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

static void set_f16_fields(const vkl_format *f, vkl_rng *rng, float scale, uint8_t *block)
{
    for (uint32_t i = 0; i < f->field_count; i++) {
        if (!f->fields[i].f16) continue;
        for (uint32_t b = 0; b < f->fields[i].bytes; b += 2) {
            float sign = rng && vkl_rng_next(rng) % 2 ? -1.0f : 1.0f;
            uint16_t h = vkl_f32_to_f16(sign * scale);
            memcpy(block + f->fields[i].offset + b, &h, 2);
        }
    }
}

void vkl_format_random_block(const vkl_format *f, vkl_rng *rng, float magnitude, uint8_t *block)
{
    for (uint32_t i = 0; i < f->block_bytes; i++) block[i] = (uint8_t)vkl_rng_next(rng);
    // With every f16 field 1 the values are what the codes make; the fields then scale them all.
    float values[VKL_FORMAT_MAX_BLOCK], largest = 0.0f;
    set_f16_fields(f, NULL, 1.0f, block);
    f->dequantize(block, values);
    for (uint32_t i = 0; i < f->block; i++) largest = fmaxf(largest, fabsf(values[i]));
    set_f16_fields(f, rng, largest > 0.0f ? magnitude / largest : 0.0f, block);
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

void vkl_format_set_scale_min_k4(int j, uint8_t *q, uint8_t scale, uint8_t min)
{
    // The inverse of get_scale_min_k4: sub-blocks 0-3 take the low 6 bits of bytes 0-7;
    // 4-7 keep their low 4 bits in bytes 8-11 and their top 2 bits in the spare top bits of 0-7.
    if (j < 4) {
        q[j] = (uint8_t)((q[j] & 0xC0) | scale);
        q[j + 4] = (uint8_t)((q[j + 4] & 0xC0) | min);
    } else {
        q[j + 4] = (uint8_t)((scale & 0xF) | ((min & 0xF) << 4));
        q[j - 4] = (uint8_t)((q[j - 4] & 0x3F) | ((scale >> 4) << 6));
        q[j] = (uint8_t)((q[j] & 0x3F) | ((min >> 4) << 6));
    }
}

void vkl_format_k_weights(int n, const float *x, float *w)
{
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += x[i] * x[i];
    float rms = sqrtf(sum / (float)n);
    for (int i = 0; i < n; i++) w[i] = rms + fabsf(x[i]);
}

// round(v) clamped to lo..hi; clamping first keeps vkl_format_round in its range.
static int round_clamp(float v, int lo, int hi)
{
    return vkl_format_round(fminf(fmaxf(v, (float)lo), (float)hi));
}

// ---- x ~ s L + m, m <= 0

static void assign_min(int n, int nmax, const float *x, float s, float m, uint8_t *L)
{
    for (int i = 0; i < n; i++) L[i] = (uint8_t)round_clamp((x[i] - m) / s, 0, nmax);
}

// Weighted least squares for s and m over fixed L; m > 0 is not storable, so then m = 0 and s
// alone is fitted. False when no positive s fits (L constant).
static bool solve_min(int n, const float *x, const float *w, const uint8_t *L, float *s, float *m)
{
    double sw = 0, sx = 0, sl = 0, sl2 = 0, sxl = 0;
    for (int i = 0; i < n; i++) {
        sw += w[i], sx += w[i] * x[i], sl += w[i] * L[i], sl2 += (double)w[i] * L[i] * L[i];
        sxl += (double)w[i] * L[i] * x[i];
    }
    bool constant = true;  // then det is 0 but may round to a tiny positive value
    for (int i = 1; i < n; i++) constant &= L[i] == L[0];
    double det = sw * sl2 - sl * sl;
    if (constant || !(det > 0)) return false;
    double ss = (sw * sxl - sx * sl) / det, mm = (sl2 * sx - sl * sxl) / det;
    if (mm > 0) mm = 0, ss = sxl / sl2;
    *s = (float)ss, *m = (float)mm;
    return *s > 0;
}

static double error_min(int n, const float *x, const float *w, const uint8_t *L, float s, float m)
{
    double e = 0;
    for (int i = 0; i < n; i++) {
        double r = (double)s * L[i] + m - x[i];
        e += w[i] * r * r;
    }
    return e;
}

// Rounds x to the grid (s, m), refits, and keeps the result in (best_s, best_m, L) when it
// lowers *best; true then.
static bool try_min(int n, int nmax, const float *x, const float *w, float s, float m, uint8_t *L, float *best_s,
                    float *best_m, double *best)
{
    uint8_t trial[32];
    assign_min(n, nmax, x, s, m, trial);
    if (!solve_min(n, x, w, trial, &s, &m)) return false;
    double e = error_min(n, x, w, trial, s, m);
    if (!(e < *best)) return false;
    *best = e, *best_s = s, *best_m = m;
    for (int i = 0; i < n; i++) L[i] = trial[i];
    return true;
}

float vkl_format_fit_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min)
{
    float lo = 0.0f, hi = x[0];  // lo: min(x, 0), the offset the format can store
    for (int i = 0; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    if (!(hi > lo)) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *neg_min = -lo;
        return 0.0f;
    }
    float s = (hi - lo) / (float)nmax, m = lo;
    assign_min(n, nmax, x, s, m, L);
    double best = error_min(n, x, w, L, s, m);
    // Steps a little finer and coarser than the range / nmax: clipping an outlier can pay.
    for (int k = -10; k <= 10; k++)
        try_min(n, nmax, x, w, (hi - lo) / ((float)nmax + 0.1f * (float)k), lo, L, &s, &m, &best);
    for (int it = 0; it < 8 && try_min(n, nmax, x, w, s, m, L, &s, &m, &best); it++) {}
    *neg_min = -m;
    return s;
}

// ---- x ~ s L, L in -nmax..nmax-1

static void assign_sym(int n, int nmax, const float *x, float s, int8_t *L)
{
    for (int i = 0; i < n; i++) L[i] = (int8_t)round_clamp(x[i] / s, -nmax, nmax - 1);
}

// The least-squares s for fixed L and its error reduction sum(wxL)^2 / sum(wL^2) (larger is
// better: the error is sum wx^2 minus it).
static double gain_sym(int n, const float *x, const float *w, const int8_t *L, float *s)
{
    double sxl = 0, sl2 = 0;
    for (int i = 0; i < n; i++) sxl += (double)w[i] * x[i] * L[i], sl2 += (double)w[i] * L[i] * L[i];
    if (!(sl2 > 0)) return -1.0;
    *s = (float)(sxl / sl2);
    return sxl * sxl / sl2;
}

static bool try_sym(int n, int nmax, const float *x, const float *w, float s, int8_t *L, float *best_s, double *best)
{
    int8_t trial[32];
    assign_sym(n, nmax, x, s, trial);
    double g = gain_sym(n, x, w, trial, &s);
    if (!(g > *best) || s == 0.0f) return false;
    *best = g, *best_s = s;
    for (int i = 0; i < n; i++) L[i] = trial[i];
    return true;
}

float vkl_format_fit_sym(int n, int nmax, const float *x, const float *w, int8_t *L)
{
    float max = 0.0f;  // the value of largest magnitude, with its sign
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > fabsf(max)) max = x[i];
    for (int i = 0; i < n; i++) L[i] = 0;
    if (fabsf(max) < 1e-30f) return 0.0f;
    // The largest value maps to -nmax, the end of the range with one more level.
    float s = 0.0f;
    double best = 0.0;
    for (int k = -9; k <= 9; k++) try_sym(n, nmax, x, w, -max / ((float)nmax + 0.1f * (float)k), L, &s, &best);
    for (int it = 0; it < 8 && s != 0.0f && try_sym(n, nmax, x, w, s, L, &s, &best); it++) {}
    return s;
}

void vkl_format_requantize_min(int n, int nmax, const float *x, const float *w, float d, float dmin, int max_code,
                               uint8_t *sc, uint8_t *m, uint8_t *L)
{
    double best = INFINITY;
    int sc0 = *sc, m0 = *m;
    for (int a = sc0 - 1; a <= sc0 + 1; a++) {
        for (int b = m0 - 1; b <= m0 + 1; b++) {
            if (a < 0 || b < 0 || a > max_code || b > max_code) continue;
            float dl = d * (float)a, ml = dmin * (float)b;
            uint8_t trial[32];
            double e = 0;
            for (int i = 0; i < n; i++) {
                trial[i] = dl > 0.0f ? (uint8_t)round_clamp((x[i] + ml) / dl, 0, nmax) : 0;
                double r = (double)(dl * (float)trial[i] - ml) - x[i];  // as dequantize() computes it
                e += w[i] * r * r;
            }
            if (!(e < best)) continue;
            best = e, *sc = (uint8_t)a, *m = (uint8_t)b;
            for (int i = 0; i < n; i++) L[i] = trial[i];
        }
    }
}

void vkl_format_requantize_sym(int n, int nmax, const float *x, const float *w, float d, int max_code, int8_t *sc,
                               int8_t *L)
{
    double best = INFINITY;
    int sc0 = *sc;
    for (int a = sc0 - 1; a <= sc0 + 1; a++) {
        if (a < -max_code || a > max_code - 1) continue;
        float dl = d * (float)a;
        int8_t trial[32];
        double e = 0;
        for (int i = 0; i < n; i++) {
            trial[i] = dl != 0.0f ? (int8_t)round_clamp(x[i] / dl, -nmax, nmax - 1) : 0;
            double r = (double)(dl * (float)trial[i]) - x[i];
            e += w[i] * r * r;
        }
        if (!(e < best)) continue;
        best = e, *sc = (int8_t)a;
        for (int i = 0; i < n; i++) L[i] = trial[i];
    }
}

// The f16 step for scales up to `max` = d nmax: d rounded up in magnitude (and finite), so that
// no scale's code exceeds nmax (the codes, rounded against the stored d, absorb its rounding).
// Below f16's normal range (d < 2^-14) that matters: rounding to nearest could halve d or zero it.
static uint16_t f16_step(float d)
{
    uint16_t h = vkl_f32_to_f16(fminf(fmaxf(d, -65504.0f), 65504.0f));
    if (fabsf(vkl_f16_to_f32(h)) < fabsf(d) && (h & 0x7FFF) < 0x7BFF) h++;  // next magnitude up
    return h;
}

uint16_t vkl_format_scales_unsigned(int n, int nmax, const float *s, uint8_t *codes)
{
    float max = 0.0f;
    for (int i = 0; i < n; i++) max = fmaxf(max, s[i]);
    uint16_t h = f16_step(max / (float)nmax);
    float d = vkl_f16_to_f32(h);
    for (int i = 0; i < n; i++) codes[i] = d > 0.0f ? (uint8_t)round_clamp(s[i] / d, 0, nmax) : 0;
    return h;
}

uint16_t vkl_format_scales_signed(int n, int nmax, const float *s, int8_t *codes)
{
    float max = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(s[i]) > fabsf(max)) max = s[i];
    uint16_t h = f16_step(-max / (float)nmax);
    float d = vkl_f16_to_f32(h);
    for (int i = 0; i < n; i++) codes[i] = d != 0.0f ? (int8_t)round_clamp(s[i] / d, -nmax, nmax - 1) : 0;
    return h;
}

void vkl_case_add_table_blocks(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                               size_t rows, uint32_t k_dim, const vkl_format *format)
{
    for (size_t i = 0; i < rows; i++) {
        const uint32_t *dims = table + i * kernel->dim_count;
        if (dims[k_dim] % format->block == 0) vkl_case_add(cases, kernel, variant, dims);
    }
}
