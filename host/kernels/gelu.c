// gelu: tanh-approximated GELU of GPT-2 — CPU reference, check shapes, launch.
// Shader: shaders/gelu.comp, shaders/elementwise.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

#define GELU_C 0.7978845608028654  // sqrt(2 / pi)
#define GELU_K 0.044715

void ref_gelu(float *y, const float *x, uint64_t n)
{
    // y (n) · x (n)
    for (uint64_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + tanh(GELU_C * (v + GELU_K * v * v * v))));
    }
}

static const vkl_variant variants[] = {
    { "f32", "gelu.default", false, 0 },
    { "texel", "gelu.texel", false, 0x1u },  // CPU devices: the inputs as texels
};

// (N): 1, primes, GPT-2's FFN width 3072 and a 512-token block of it.
static const uint32_t full[][1] = { { 1 }, { 7 }, { 257 }, { 3072 }, { 100003 }, { 1572864 } };
static const uint32_t quick[][1] = { { 1 }, { 257 }, { 100003 } };

static void gelu_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ELEMENTWISE_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void gelu_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t n = c->dims[0];
    out[0] = (vkl_tensor_desc){ "x", VKL_DTYPE_F32, n, VKL_IN, -6.0f, 6.0f };
    out[1] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, n, VKL_OUT, 0.0f, 0.0f };
}

// Absolute bound, because 1 + tanh(z) cancels for negative x. In the shader,
// tanh(z) = 1 - 2 / (exp(2z) + 1): exp is within (3 + 2|2z|) ulp, eps_e <= (3 + 4|z|) 2u; the
// sum adds u, the division 5u, and 2/(...) <= 2 gives an absolute error 2 (eps_e + 6u); the
// subtraction u, z's own five roundings 5u|z| (|tanh'| <= 1), the clamp at 10 below u:
// err_t = 2 eps_e + 14u + 5u|z|. Then y = 0.5 x (1 + t): 0.5|x| (err_t + 2u) + 2u|y|.
static void gelu_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    const float *x = values[0];
    ref_gelu(values[1], x, c->dims[0]);
    for (uint64_t i = 0; i < c->dims[0]; i++) {
        double v = x[i], z = fabs(GELU_C * (v + GELU_K * v * v * v)), eps_e = (3.0 + 4.0 * z) * 2.0 * u;
        double err_t = 2.0 * eps_e + 14.0 * u + 5.0 * u * z;
        bounds[1][i] = 0.5 * fabs(v) * (err_t + 2.0 * u) + 2.0 * u * fabs(values[1][i]) + VKL_F32_TINY;
    }
}

static double gelu_flops(const vkl_case *c) { return 12.0 * c->dims[0]; }
static double gelu_bytes(const vkl_case *c) { return 8.0 * c->dims[0]; }

// GPT-2-style FFN activations over the hidden width.
static void gelu_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t n = b->M * b->hidden;
    if (!b->experts) vkl_elementwise_case_add(cases, self, variant, n);
}

const vkl_kernel vkl_kernel_gelu = {
    .name = "gelu",
    .dim_names = { "N" },
    .dim_count = 1,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 2,
    .shapes = gelu_shapes,
    .tensors = gelu_tensors,
    .launch = vkl_launch_elementwise,
    .expect = gelu_expect,
    .flops = gelu_flops,
    .bytes = gelu_bytes,
    .bench_shapes = gelu_bench,
};
