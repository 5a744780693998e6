// layer_norm: y = (x - mean) / sqrt(var + eps) * w + b over rows — CPU reference, check
// shapes, launch. Shader: shaders/layer_norm.comp, shaders/rows.h.
#include <math.h>
#include <stdlib.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

void ref_layer_norm(float *y, const float *x, const float *w, const float *b, uint32_t M, uint32_t N, float eps)
{
    // y (M, N) · x (M, N) · w (N) · b (N)
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * N;
        double mean = 0.0, var = 0.0;
        for (uint32_t i = 0; i < N; i++) mean += row[i];
        mean /= N;
        for (uint32_t i = 0; i < N; i++) var += (row[i] - mean) * (row[i] - mean);
        double scale = 1.0 / sqrt(var / N + eps);
        for (uint32_t i = 0; i < N; i++) y[(size_t)m * N + i] = (float)((row[i] - mean) * scale * w[i] + b[i]);
    }
}

#define LAYER_NORM_EPS_DEFAULT 1e-5f  // eps when the case sets none
#define LAYER_NORM_EPS vkl_case_scalar(c, LAYER_NORM_EPS_DEFAULT)

static const vkl_variant variants[] = { { "f32", "layer_norm.default", false } };

// (M, N): 1, primes, around the workgroup, GPT-2 widths 768 and 1600.
static const uint32_t full[][2] = {
    { 1, 1 }, { 1, 7 }, { 4, 255 }, { 7, 257 }, { 12, 768 }, { 5, 1600 }, { 512, 768 }, { 3, 12289 }, { 66001, 4 },
};
static const uint32_t quick[][2] = { { 1, 1 }, { 4, 255 }, { 5, 1600 } };

static void layer_norm_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void layer_norm_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * N, VKL_IN, 0.0f, 0.0f };
    out[1] = (vkl_tensor_desc){ "w", VKL_DTYPE_F32, N, VKL_IN, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "b", VKL_DTYPE_F32, N, VKL_IN, -1.0f, 1.0f };
    out[3] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
}

// Rows are offset + noise, with offsets up to 100 times the noise: a one-pass variance
// (E[x^2] - E[x]^2) would cancel catastrophically there.
static void layer_norm_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    static const float offsets[] = { 0.0f, 5.0f, -100.0f, 0.01f }, noise[] = { 1.0f, 1.0f, 1.0f, 1e-3f };
    uint32_t M = c->dims[0], N = c->dims[1];
    if (index == 1 || index == 2) {
        float s = index == 1 ? 2.0f : 1.0f;
        for (uint32_t i = 0; i < N; i++) values[i] = vkl_rng_uniform(rng, -s, s);
        return;
    }
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t i = 0; i < N; i++)
            values[(size_t)m * N + i] = offsets[m % 4] + vkl_rng_uniform(rng, -noise[m % 4], noise[m % 4]);
}

static uint32_t layer_norm_launch(const vkl_case *c, vkl_launch *out)
{
    return vkl_launch_rows(c, out, LAYER_NORM_EPS);
}

// Bound per element, following the shader's operations with f = vkl_sum_error_factor(N):
//   mean: |dmu| <= f mean|x| + 5u|mu| (sum, then a 2.5-ulp division);
//   scale r = (var + eps)^-1/2: var's terms are positive with 3u each (difference, square), the
//   division 5u and eps u, so rel(var) <= f + 9u (+ dmu^2 / var from the shifted mean); the
//   square root halves it and inversesqrt adds 2 ulp (4u);
//   y = (x - mu) r w + b: three roundings on the core product, |dmu| r |w| from the mean, and
//   the final add and the reference's rounding, 2u|y|.
static void layer_norm_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    uint32_t M = c->dims[0], N = c->dims[1];
    const float *x = values[0], *w = values[1];
    ref_layer_norm(values[3], x, w, values[2], M, N, LAYER_NORM_EPS);
    double f = vkl_sum_error_factor(N);
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * N;
        double mean = 0.0, mean_abs = 0.0, var = 0.0;
        for (uint32_t i = 0; i < N; i++) { mean += row[i]; mean_abs += fabs(row[i]); }
        mean /= N;
        mean_abs /= N;
        for (uint32_t i = 0; i < N; i++) var += (row[i] - mean) * (row[i] - mean);
        var /= N;
        double r = 1.0 / sqrt(var + LAYER_NORM_EPS), dmu = f * mean_abs + 5.0 * u * fabs(mean);
        double rel_r = 0.5 * (f + 9.0 * u + dmu * dmu / (var + LAYER_NORM_EPS)) + 4.0 * u;
        for (uint32_t i = 0; i < N; i++) {
            size_t k = (size_t)m * N + i;
            double core = fabs((row[i] - mean) * r * w[i]);
            bounds[3][k] = core * (rel_r + 3.0 * u) + dmu * r * fabs(w[i]) + 2.0 * u * fabs(values[3][k]) + VKL_F32_TINY;
        }
    }
}

static double layer_norm_flops(const vkl_case *c) { return 7.0 * c->dims[0] * c->dims[1]; }
static double layer_norm_bytes(const vkl_case *c) { return 4.0 * (2.0 * c->dims[0] * c->dims[1] + 2.0 * c->dims[1]); }

// GPT-2-style models normalise rows of the model width as RMSNorm does in Llama.
static void layer_norm_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[2] = { b->M, b->dim };
    vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_layer_norm = {
    .name = "layer_norm",
    .dim_names = { "M", "N" },
    .dim_count = 2,
    .variants = variants,
    .variant_count = 1,
    .tensor_count = 4,
    .shapes = layer_norm_shapes,
    .tensors = layer_norm_tensors,
    .fill = layer_norm_fill,
    .launch = layer_norm_launch,
    .expect = layer_norm_expect,
    .flops = layer_norm_flops,
    .bytes = layer_norm_bytes,
    .bench_shapes = layer_norm_bench,
};
