// swiglu: y = silu(gate) * up — CPU reference, check shapes, launch.
// Shader: shaders/swiglu.comp, shaders/elementwise.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

void ref_swiglu(float *y, const float *gate, const float *up, uint64_t n)
{
    // y (n) · gate (n) · up (n)
    for (uint64_t i = 0; i < n; i++) y[i] = (float)(gate[i] / (1.0 + exp(-(double)gate[i])) * up[i]);
}

static const vkl_variant variants[] = {
    { "f32", "swiglu.default", false, 0 },
    { "texel", "swiglu.texel", false, 0x3u },  // CPU devices: the inputs as texels
};

// (N): 1, primes, stories260K's hidden 172, Llama-2-7B's 11008, a 512-token prefill of it.
static const uint32_t full[][1] = { { 1 }, { 7 }, { 172 }, { 257 }, { 11008 }, { 100003 }, { 5636096 } };
static const uint32_t quick[][1] = { { 1 }, { 172 }, { 100003 } };

static void swiglu_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ELEMENTWISE_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void swiglu_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t n = c->dims[0];
    out[0] = (vkl_tensor_desc){ "gate", VKL_DTYPE_F32, n, VKL_IN, -12.0f, 12.0f };
    out[1] = (vkl_tensor_desc){ "up", VKL_DTYPE_F32, n, VKL_IN, -2.0f, 2.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, n, VKL_OUT, 0.0f, 0.0f };
}

// Relative bound from Vulkan's precision: exp(-g) is within 3 + 2|g| ulp (<= 2u each), so
// 1 + exp(-g) carries that plus u; the division adds 2.5 ulp (5u), the product u, and the
// reference's rounding u: ((3 + 2|g|) 2 + 8) u |y|, plus the smallest normal for flushed results.
static void swiglu_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    const float *gate = values[0];
    ref_swiglu(values[2], gate, values[1], c->dims[0]);
    for (uint64_t i = 0; i < c->dims[0]; i++)
        bounds[2][i] = ((3.0 + 2.0 * fabs(gate[i])) * 2.0 + 8.0) * VKL_F32_UNIT_ROUNDOFF * fabs(values[2][i]) +
                       VKL_F32_TINY;
}

static double swiglu_flops(const vkl_case *c) { return 5.0 * c->dims[0]; }
static double swiglu_bytes(const vkl_case *c) { return 12.0 * c->dims[0]; }

static void swiglu_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t n = b->M * b->hidden;
    if (!b->experts) vkl_elementwise_case_add(cases, self, variant, n);
}

const vkl_kernel vkl_kernel_swiglu = {
    .name = "swiglu",
    .dim_names = { "N" },
    .dim_count = 1,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = swiglu_shapes,
    .tensors = swiglu_tensors,
    .launch = vkl_launch_elementwise,
    .expect = swiglu_expect,
    .flops = swiglu_flops,
    .bytes = swiglu_bytes,
    .bench_shapes = swiglu_bench,
};
