// argmax: index of the largest value of each row, ties to the lower index — CPU reference,
// check shapes, launch. Shader: shaders/argmax.comp, shaders/rows.h.
#include <math.h>

#include "host/kernel.h"
#include "host/ref.h"

void ref_argmax(uint32_t *index, const float *x, uint32_t M, uint32_t N)
{
    // index (M) · x (M, N)
    for (uint32_t m = 0; m < M; m++) {
        const float *row = x + (size_t)m * N;
        uint32_t best = 0;
        for (uint32_t i = 1; i < N; i++)
            if (row[i] > row[best]) best = i;
        index[m] = best;
    }
}

static const vkl_variant variants[] = { { "f32", "argmax.default", false } };

// (M, N): 1, primes, vocabularies 512, 32000 and 128256.
static const uint32_t full[][2] = { { 1, 1 }, { 3, 7 }, { 5, 257 }, { 1, 512 }, { 8, 32000 }, { 1, 128256 }, { 70000, 3 } };
static const uint32_t quick[][2] = { { 1, 1 }, { 5, 257 }, { 2, 32000 } };

static void argmax_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void argmax_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * N, VKL_IN, 0.0f, 0.0f };
    out[1] = (vkl_tensor_desc){ "index", VKL_DTYPE_U32, M, VKL_OUT, 0.0f, 0.0f };
}

// Values on a grid of 17 levels, so the maximum occurs many times and only the tie rule
// decides; every fourth row is constant, where the answer must be 0.
static void argmax_fill(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values)
{
    (void)index;
    uint32_t M = c->dims[0], N = c->dims[1];
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t i = 0; i < N; i++)
            values[(size_t)m * N + i] = m % 4 == 3 ? -1.5f : roundf(vkl_rng_uniform(rng, -4.0f, 4.0f) * 2.0f) / 2.0f;
}

static uint32_t argmax_launch(const vkl_case *c, vkl_launch *out)
{
    return vkl_launch_rows(c, out, 0.0f);
}

// Exact: the index is an integer.
static void argmax_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    (void)bounds;
    uint32_t M = c->dims[0];
    uint32_t index[1024];
    for (uint32_t m0 = 0; m0 < M; m0 += 1024) {
        uint32_t rows = M - m0 < 1024 ? M - m0 : 1024;
        ref_argmax(index, values[0] + (size_t)m0 * c->dims[1], rows, c->dims[1]);
        for (uint32_t m = 0; m < rows; m++) values[1][m0 + m] = (float)index[m];
    }
}

static double argmax_flops(const vkl_case *c) { return (double)c->dims[0] * c->dims[1]; }
static double argmax_bytes(const vkl_case *c) { return 4.0 * c->dims[0] * c->dims[1] + 4.0 * c->dims[0]; }

// Greedy sampling over the vocabulary.
static void argmax_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t dims[2] = { 1, b->vocab };
    vkl_case_add(cases, self, variant, dims);
}

const vkl_kernel vkl_kernel_argmax = {
    .name = "argmax",
    .dim_names = { "M", "N" },
    .dim_count = 2,
    .variants = variants,
    .variant_count = 1,
    .tensor_count = 2,
    .shapes = argmax_shapes,
    .tensors = argmax_tensors,
    .fill = argmax_fill,
    .launch = argmax_launch,
    .expect = argmax_expect,
    .flops = argmax_flops,
    .bytes = argmax_bytes,
    .bench_shapes = argmax_bench,
};
