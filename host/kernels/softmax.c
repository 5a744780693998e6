// softmax: y = softmax(x / T) over rows — CPU reference, check shapes, launch.
// Shader: shaders/softmax.comp, shaders/rows.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

void ref_softmax(float *y, const float *x, uint32_t M, uint32_t N, float temperature)
{
    // y (M, N) · x (M, N)
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * N;
        double max = row[0], sum = 0.0;
        for (uint32_t i = 1; i < N; i++) max = row[i] > max ? row[i] : max;
        for (uint32_t i = 0; i < N; i++) sum += exp((row[i] - max) / temperature);
        for (uint32_t i = 0; i < N; i++) y[(size_t)m * N + i] = (float)(exp((row[i] - max) / temperature) / sum);
    }
}

static const vkl_variant variants[] = { { "f32", "softmax.default", false } };

// (M, N, T100 = temperature x 100): 1, primes, vocabularies 512, 32000 and 128256.
static const uint32_t full[][3] = {
    { 1, 1, 100 }, { 3, 7, 100 }, { 2, 257, 50 }, { 1, 512, 100 }, { 4, 32000, 100 }, { 2, 32000, 70 },
    { 1, 128256, 150 }, { 67, 1000, 100 },
};
static const uint32_t quick[][3] = { { 1, 1, 100 }, { 2, 257, 50 }, { 1, 32000, 100 } };

static void softmax_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void softmax_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * N, VKL_IN, -12.0f, 12.0f };
    out[1] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
}

static float temperature(const vkl_case *c) { return (float)c->dims[2] / 100.0f; }

static uint32_t softmax_launch(const vkl_case *c, vkl_launch *out)
{
    return vkl_launch_rows(c, out, 1.0f / temperature(c));
}

// The bound of host/bounds.h, per row.
static void softmax_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint32_t M = c->dims[0], N = c->dims[1];
    ref_softmax(values[1], values[0], M, N, temperature(c));
    for (uint32_t m = 0; m < M; m++)
        vkl_softmax_bounds(bounds[1] + (size_t)m * N, values[0] + (size_t)m * N, values[1] + (size_t)m * N, N,
                           temperature(c));
}

static double softmax_flops(const vkl_case *c) { return 6.0 * c->dims[0] * c->dims[1]; }
static double softmax_bytes(const vkl_case *c) { return 8.0 * c->dims[0] * c->dims[1]; }

// Sampling: one row of the vocabulary (T100 = 100: temperature 1).
static void softmax_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[3] = { 1, b->vocab, 100 };
    vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_softmax = {
    .name = "softmax",
    .dim_names = { "M", "N", "T100" },
    .dim_count = 3,
    .variants = variants,
    .variant_count = 1,
    .tensor_count = 2,
    .shapes = softmax_shapes,
    .tensors = softmax_tensors,
    .launch = softmax_launch,
    .expect = softmax_expect,
    .flops = softmax_flops,
    .bytes = softmax_bytes,
    .bench_shapes = softmax_bench,
};
