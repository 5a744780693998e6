// bias_add: y = x + b on every row (the biases of GPT-2's and Qwen2's linear layers) — CPU
// reference, check shapes, launch. Shader: shaders/bias_add.comp, shaders/bias_add.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"
#include "shaders/bias_add.h"

void ref_bias_add(float *y, const float *x, const float *b, uint32_t M, uint32_t N)
{
    // y (M, N) · x (M, N) · b (N)
    for (uint64_t m = 0; m < M; m++)
        for (uint64_t n = 0; n < N; n++) y[m * N + n] = (float)((double)x[m * N + n] + b[n]);
}

static const vkl_variant variants[] = { { "f32", "bias_add.default", false, 0 } };

// (M, N): 1, primes, GPT-2's QKV width 2304 for one token and a 512-token block, rows past one
// workgroup's worth, and more elements than 65535 workgroups hold.
static const uint32_t full[][2] = { { 1, 1 }, { 1, 7 }, { 3, 257 }, { 1, 2304 }, { 512, 2304 }, { 7, 65537 },
                                    { 4099, 4099 } };
static const uint32_t quick[][2] = { { 1, 1 }, { 3, 257 }, { 7, 65537 } };

static void bias_add_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ADD_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void bias_add_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t M = c->dims[0], N = c->dims[1];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, M * N, VKL_IN, -4.0f, 4.0f };
    out[1] = (vkl_tensor_desc){ "b", VKL_DTYPE_F32, N, VKL_IN, -1.0f, 1.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, M * N, VKL_OUT, 0.0f, 0.0f };
}

static uint32_t bias_add_launch(const vkl_case *c, vkl_launch *out)
{
    struct bias_add_push push = { .M = c->dims[0], .N = c->dims[1] };
    push.groups_x = vkl_launch_items(out, (uint64_t)push.M * push.N, BIAS_ADD_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

// One correctly rounded f32 add, as the reference rounds its double sum: u|y|.
static void bias_add_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    uint64_t n = (uint64_t)c->dims[0] * c->dims[1];
    ref_bias_add(values[2], values[0], values[1], c->dims[0], c->dims[1]);
    for (uint64_t i = 0; i < n; i++) bounds[2][i] = VKL_F32_UNIT_ROUNDOFF * fabs(values[2][i]) + VKL_F32_TINY;
}

// The Q, K and V biases (Qwen2's) on the rows of a step: widths dim and kv_heads x head_dim.
static void bias_add_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t q[2] = { b->M, b->dim }, kv[2] = { b->M, b->kv_heads * b->head_dim };
    vkl_case_add(cases, self, variant, q);
    if (kv[1] != q[1]) vkl_case_add(cases, self, variant, kv);
}

static double bias_add_flops(const vkl_case *c) { return (double)c->dims[0] * c->dims[1]; }
static double bias_add_bytes(const vkl_case *c) { return 8.0 * c->dims[0] * c->dims[1] + 4.0 * c->dims[1]; }

const vkl_kernel vkl_kernel_bias_add = {
    .name = "bias_add",
    .dim_names = { "M", "N" },
    .dim_count = 2,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = bias_add_shapes,
    .tensors = bias_add_tensors,
    .launch = bias_add_launch,
    .expect = bias_add_expect,
    .flops = bias_add_flops,
    .bytes = bias_add_bytes,
    .bench_shapes = bias_add_bench,
};
