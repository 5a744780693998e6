// Weight formats, one table entry each: f32, f16 and the quantized formats of
// host/formats/registry.h, with ggml's block layouts (GGUF type ids, bytes as llama.cpp's
// ggml-common.h defines them) and vkllm's device layout.
//
// A quantized tensor is a sequence of blocks of `block` values along its rows (a row's length
// is a multiple of the block). In the file each block is ggml's struct of `block_bytes`. On the
// device the same bytes are repacked into two planes, so that the shaders read whole 16-byte
// vectors: the quants plane (every block's `quant_bytes`, a multiple of 16) from byte 0, then
// the meta plane (every block's `meta_bytes`: scales, minimums, high bits; a multiple of 2, the
// whole plane padded to 4 bytes) from byte blocks * quant_bytes, a multiple of 16. `fields` says
// which bytes of the file's block go where: each plane takes its fields in the order listed,
// packed, and a plane's block is zero-padded to its size. shaders/formats/<name>.glsl reads
// that layout.
#ifndef VKLLM_FORMATS_H
#define VKLLM_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kernel.h"
#include "host/rng.h"

enum { VKL_PLANE_QUANTS, VKL_PLANE_META };

typedef struct vkl_format_field {
    uint16_t offset;  // in ggml's block
    uint16_t bytes;
    uint8_t plane;    // VKL_PLANE_*
    bool f16;         // an f16 scale (or minimum): every value is linear in the block's f16 fields,
                      //   which lets the checker draw valid blocks directly (vkl_format_random_block)
} vkl_format_field;

#define VKL_FORMAT_MAX_FIELDS 6
#define VKL_FORMAT_MAX_BLOCK 256

typedef struct vkl_format {
    const char *name;          // as `vkllm quantize --type` takes it: "q4_k"
    vkl_dtype dtype;
    uint32_t ggml_type;        // GGUF's tensor type id
    uint32_t block;            // values per block (1 for f32 and f16)
    uint32_t block_bytes;      // bytes of a block in the file
    uint32_t quant_bytes;      // device: bytes of a block in the quants plane (0: no planes, the
    uint32_t meta_bytes;       //   file's bytes as they are, f32 and f16) and in the meta plane
    vkl_format_field fields[VKL_FORMAT_MAX_FIELDS];
    uint32_t field_count;
    // Values a kernel dequantizes in one step, a divisor of the block (shaders/formats/<name>.glsl's
    // FORMAT_UNIT; the embedding kernel launches an invocation per unit, so its check fails if the two disagree).
    uint32_t unit;
    // A symmetric format (value = scale x an integer quant) has each scale's values in runs of
    // scale_sub (shaders/formats/<name>.glsl's FORMAT_SUB; cmake/Shaders.cmake checks that the
    // two agree): the kernels' dot products run over its integer quants and multiply by the scale
    // once a run, one rounding more a term (vkl_format_dot_ulps). 0: dequantized value by value
    // (affine formats, value = scale q + minimum, and f32, f16).
    uint32_t scale_sub;
    // The device dequantizes in f32 with the same operations as dequantize(), but a compiler may
    // contract a multiply and an add into an fma: each value may then differ from dequantize()'s
    // by dequant_ulps * u * |value| (u = 2^-24). 0 where every operation is exact in f32.
    double dequant_ulps;
    // One block: `block` values from ggml's bytes, in f32 exactly as ggml's reference does.
    void (*dequantize)(const uint8_t *block, float *values);
    // One block of `block` values into ggml's bytes, choosing scales (and minimums) that keep the
    // squared error small. NaN and infinite values are never passed (the callers refuse them).
    void (*quantize)(const float *values, uint8_t *block);
} vkl_format;

// The entry of a dtype (f32, f16 or a quantized format); NULL for u32.
const vkl_format *vkl_format_of(vkl_dtype dtype);
// The entry of GGUF type `ggml_type`, or of `name` (case-insensitive); NULL when unknown.
const vkl_format *vkl_format_from_ggml(uint32_t ggml_type);
const vkl_format *vkl_format_from_name(const char *name);
// Every format in dtype order: f32, f16, then the registry's.
const vkl_format *vkl_format_at(uint32_t index);
uint32_t vkl_format_count(void);
static inline bool vkl_format_is_quantized(const vkl_format *f) { return f->quant_bytes != 0; }
// The weight_ulps term of a weight-reading kernel's bound (host/kernels/matmul.c): the
// dequantization's dequant_ulps, and for a factored scale (scale_sub) the scale's multiply, which
// rounds each term's share of a run's sum once more: u |x_k w_k| a term at most.
static inline double vkl_format_dot_ulps(const vkl_format *f) { return f->dequant_ulps + (f->scale_sub ? 1.0 : 0.0); }
static inline bool vkl_dtype_is_quantized(vkl_dtype dtype) { return dtype > VKL_DTYPE_U32 && dtype < VKL_DTYPE_COUNT; }
// Quantized formats by their registry position (0 ..): kernels list a variant (or a few) per
// format with VKLLM_FORMATS, in registry order.
#define VKL_QUANT_FORMAT_COUNT ((uint32_t)(VKL_DTYPE_COUNT - VKL_DTYPE_U32 - 1))
static inline uint32_t vkl_quant_index(vkl_dtype dtype) { return (uint32_t)(dtype - VKL_DTYPE_U32 - 1); }
static inline vkl_dtype vkl_quant_dtype(uint32_t index) { return (vkl_dtype)(VKL_DTYPE_U32 + 1 + index); }

// Appends the rows of a shape table (rows x kernel->dim_count) whose dims[k_dim] is a multiple
// of `format`'s block: the check shapes of a kernel variant for quantized weights.
void vkl_case_add_table_blocks(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                               size_t rows, uint32_t k_dim, const vkl_format *format);
#define VKL_ADD_SHAPES_BLOCKS(cases, kernel, variant, table, k_dim, format)                                  \
    vkl_case_add_table_blocks(cases, kernel, variant, &(table)[0][0], sizeof(table) / sizeof((table)[0]), k_dim, \
                              format)

// Bytes of `count` values in the file; false when count is not a whole number of blocks (or the
// size overflows).
bool vkl_format_file_bytes(const vkl_format *f, uint64_t count, uint64_t *bytes);
// Bytes of `count` values on the device (whole blocks), rounded up to 4.
uint64_t vkl_format_device_bytes(const vkl_format *f, uint64_t count);
// File bytes of `count` values into the device layout (device: vkl_format_device_bytes bytes),
// and back. For f32 and f16 both copy.
void vkl_format_repack(const vkl_format *f, const uint8_t *file, uint64_t count, uint8_t *device);
void vkl_format_unpack(const vkl_format *f, const uint8_t *device, uint64_t count, uint8_t *file);
// `count` values from file bytes to f32 (f16: exact conversion).
void vkl_format_dequantize(const vkl_format *f, const uint8_t *file, uint64_t count, float *values);
// `count` finite values into file bytes (count a whole number of blocks; f16: round to nearest).
void vkl_format_quantize(const vkl_format *f, const float *values, uint64_t count, uint8_t *file);

// One valid block in ggml's layout drawn from `rng`: random quants and packed scales, and its f16
// fields all +-c with c chosen so that the block's largest |value| is `magnitude` (0: a block of
// zeros). Fast, unlike quantize(), and it reaches every quant code: the checker's inputs.
void vkl_format_random_block(const vkl_format *f, vkl_rng *rng, float magnitude, uint8_t *block);

// Shared by the formats' files: the nearest integer, ties to even, for |value| < 2^22 (the
// K-quant quantizers' rounding), and the 6-bit scales and minimums of Q4_K and Q5_K packed into 12 bytes.
int vkl_format_round(float value);
void vkl_format_get_scale_min_k4(int j, const uint8_t *q, uint8_t *scale, uint8_t *min);
void vkl_format_set_scale_min_k4(int j, uint8_t *q, uint8_t scale, uint8_t min);

// The K-quants' scale searches (n <= 32 values of a sub-block, weights w > 0 where x != 0):
// fit_min: x ~ s L + m with L in 0..nmax and an offset m <= 0 (Q2_K, Q4_K, Q5_K: value =
// d sc q - dmin m); returns s >= 0 and -m in *neg_min. fit_sym: x ~ s L with L in -nmax..nmax-1
// (Q3_K, Q6_K), s of either sign. Both minimise sum w (x - fit)^2 over a grid of scales, each
// refitted by least squares, then alternate rounding and refitting while the error falls.
float vkl_format_fit_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min);
float vkl_format_fit_sym(int n, int nmax, const float *x, const float *w, int8_t *L);
// Weights that favour a sub-block's large values, as ggml's K-quant references do: rms + |x|.
void vkl_format_k_weights(int n, const float *x, float *w);
// The sub-block scales as integer codes times an f16 step d (returned as f16 bits; d rounded up
// in magnitude, the codes rounded against it). unsigned: s >= 0, codes 0..nmax, d = max s / nmax.
// signed: codes -nmax..nmax-1, d = -(the s of largest magnitude) / nmax, so that s takes -nmax.
uint16_t vkl_format_scales_unsigned(int n, int nmax, const float *s, uint8_t *codes);
uint16_t vkl_format_scales_signed(int n, int nmax, const float *s, int8_t *codes);
// A sub-block's final quants L against the stored steps: value = d sc L - dmin m (min) or d sc L
// (sym). Rounding a scale to its code can be off by one where it matters (when quants clamp, or
// the step is coarse), so the codes next to *sc (and *m), within 0..max_code (sym:
// -max_code..max_code-1), are tried too; the least weighted squared error wins.
void vkl_format_requantize_min(int n, int nmax, const float *x, const float *w, float d, float dmin, int max_code,
                               uint8_t *sc, uint8_t *m, uint8_t *L);
void vkl_format_requantize_sym(int n, int nmax, const float *x, const float *w, float d, int max_code, int8_t *sc,
                               int8_t *L);

#endif
