// rms_norm: y = x / sqrt(mean(x²) + eps) * w over rows — CPU reference, check shapes, launch.
// Shader: shaders/rms_norm.comp, shaders/rows.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

void ref_rms_norm(float *y, const float *x, const float *w, uint32_t M, uint32_t N, float eps)
{
    // y (M, N) · x (M, N) · w (N)
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * N;
        double sum_sq = 0.0;
        for (uint32_t i = 0; i < N; i++) sum_sq += (double)row[i] * row[i];
        double scale = 1.0 / sqrt(sum_sq / N + eps);
        for (uint32_t i = 0; i < N; i++) y[(size_t)m * N + i] = (float)(row[i] * scale * w[i]);
    }
}

#define RMS_NORM_EPS_DEFAULT 1e-5f  // eps when the case sets none
#define RMS_NORM_EPS vkl_case_scalar(c, RMS_NORM_EPS_DEFAULT)

enum { F32, TEXEL, FAULT_UNWRITTEN, FAULT_OOB };

static const vkl_variant variants[] = {
    [F32] = { "f32", "rms_norm.f32", false, 0 },
    [TEXEL] = { "texel", "rms_norm.texel", false, 0x3u },  // CPU devices: x and w as texels
    [FAULT_UNWRITTEN] = { "fault_unwritten", "rms_norm.fault_unwritten", true, 0 },
    [FAULT_OOB] = { "fault_oob", "rms_norm.fault_oob", true, 0 },
};

// (M, N): 1, primes, non-multiples of the workgroup (256), and model widths: stories260K 64,
// Llama 4096 and 5120, FFN 14336.
static const uint32_t full[][2] = {
    { 1, 1 }, { 1, 7 }, { 3, 64 }, { 5, 255 }, { 7, 257 }, { 2, 1000 }, { 13, 4096 }, { 1, 14336 },
    { 33, 5120 }, { 512, 4096 }, { 70001, 3 },
};
static const uint32_t quick[][2] = { { 1, 1 }, { 3, 64 }, { 7, 257 }, { 5, 4096 } };
static const uint32_t fault_shapes[][2] = { { 3, 300 } };
// Texel variant: the tables' rows of whole texels (N % 4 == 0), and one texel, 63 texels and 65
// (not multiples of the texel workgroup's 8 invocations or of its 4 fetches in flight).
static const uint32_t texel_extra[][2] = { { 1, 4 }, { 5, 252 }, { 7, 260 } };
static bool whole_texel_rows(const uint32_t *dims) { return dims[1] % 4 == 0; }

static void rms_norm_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    if (variant == F32 || variant == TEXEL)
        VKL_ADD_QUICK_OR_FULL_TEXEL(cases, self, variant, is_quick, quick, full, variant == TEXEL, texel_extra,
                                    whole_texel_rows);
    else VKL_ADD_SHAPES(cases, self, variant, fault_shapes);
}

static void rms_norm_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * N, VKL_IN, -1.0f, 1.0f };
    out[1] = (vkl_tensor_desc){ "w", VKL_DTYPE_F32, N, VKL_IN, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
}

// Rows span magnitudes 1e-3 .. 10, so eps dominates some rows and is negligible in others.
static void rms_norm_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    uint32_t M = c->dims[0], N = c->dims[1];
    if (index != 0) {
        for (uint32_t i = 0; i < N; i++) values[i] = vkl_rng_uniform(rng, -2.0f, 2.0f);
        return;
    }
    static const float scales[] = { 1.0f, 1e-3f, 10.0f, 0.05f };
    for (uint32_t m = 0; m < M; m++) {
        float s = scales[m % 4];
        for (uint32_t i = 0; i < N; i++) values[(size_t)m * N + i] = vkl_rng_uniform(rng, -s, s);
    }
}

static uint32_t rms_norm_launch(const vkl_case *c, vkl_launch *out)
{
    return vkl_launch_rows(c, out, RMS_NORM_EPS);
}

// Relative bound per element, from the error budget of the shader's float operations:
// the sum of squares (all terms positive) has relative error at most f(N), the factor of
// host/bounds.h; dividing by N (Vulkan allows 2.5 ulp = 5u) and adding eps (1u) bring the
// argument of inversesqrt to f(N) + 6u, which the square root halves: f(N)/2 + 3u; then
// inversesqrt (2 ulp = 4u), two products (2u) and the reference's rounding to f32 (1u).
// Total: (f(N)/2 + 10u) |y|, plus the smallest normal for flushed subnormals.
static void rms_norm_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], N = c->dims[1];
    ref_rms_norm(values[2], values[0], values[1], M, N, RMS_NORM_EPS);
    double relative = 0.5 * vkl_sum_error_factor(N) + 10.0 * VKL_F32_UNIT_ROUNDOFF;
    for (size_t i = 0; i < (size_t)M * N; i++)
        bounds[2][i] = relative * fabs(values[2][i]) + VKL_F32_TINY;
}

static double rms_norm_flops(const vkl_case *c) { return 4.0 * c->dims[0] * c->dims[1]; }
static double rms_norm_bytes(const vkl_case *c) { return 4.0 * (2.0 * c->dims[0] * c->dims[1] + c->dims[1]); }

static void rms_norm_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[2] = { b->M, b->dim };
    if (variant == F32 || (variant == TEXEL && b->dim % 4 == 0)) vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_rms_norm = {
    .name = "rms_norm",
    .dim_names = { "M", "N" },
    .dim_count = 2,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = rms_norm_shapes,
    .tensors = rms_norm_tensors,
    .fill = rms_norm_fill,
    .launch = rms_norm_launch,
    .expect = rms_norm_expect,
    .flops = rms_norm_flops,
    .bytes = rms_norm_bytes,
    .bench_shapes = rms_norm_bench,
};
