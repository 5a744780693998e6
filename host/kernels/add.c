// add: y = a + b (the residual connection) — CPU reference, check shapes, launch.
// Shader: shaders/add.comp, shaders/elementwise.h.
#include <math.h>

#include "host/bounds.h"
#include "host/kernel.h"
#include "host/ref.h"

void ref_add(float *y, const float *a, const float *b, uint64_t n)
{
    // y (n) · a (n) · b (n)
    for (uint64_t i = 0; i < n; i++) y[i] = (float)((double)a[i] + b[i]);
}

static const vkl_variant variants[] = {
    { "f32", "add.default", false, 0 },
    { "texel", "add.texel", false, 0x3u },  // CPU devices: the inputs as texels
};

// (N): 1, primes, around the workgroup, a Llama-2 prefill block (512 x 4096), past 65535 groups.
static const uint32_t full[][1] = { { 1 }, { 7 }, { 255 }, { 257 }, { 4096 }, { 100003 }, { 2097152 }, { 16777259 } };
static const uint32_t quick[][1] = { { 1 }, { 257 }, { 100003 } };

static void add_shapes(const vkl_kernel *self, uint32_t variant, bool is_quick, vkl_case **cases)
{
    VKL_ELEMENTWISE_QUICK_OR_FULL(cases, self, variant, is_quick, quick, full);
}

static void add_tensors(const vkl_case *c, vkl_tensor_desc *out)
{
    uint64_t n = c->dims[0];
    out[0] = (vkl_tensor_desc){ "a", VKL_DTYPE_F32, n, VKL_IN, -4.0f, 4.0f };
    out[1] = (vkl_tensor_desc){ "b", VKL_DTYPE_F32, n, VKL_IN, -4.0f, 4.0f };
    out[2] = (vkl_tensor_desc){ "y", VKL_DTYPE_F32, n, VKL_OUT, 0.0f, 0.0f };
}

// Vulkan rounds a float add correctly, as does the reference from double: u|y| covers both.
static void add_expect(const vkl_case *c, float *const *values, double *const *bounds)
{
    ref_add(values[2], values[0], values[1], c->dims[0]);
    for (uint64_t i = 0; i < c->dims[0]; i++) bounds[2][i] = VKL_F32_UNIT_ROUNDOFF * fabs(values[2][i]) + VKL_F32_TINY;
}

static double add_flops(const vkl_case *c) { return c->dims[0]; }
static double add_bytes(const vkl_case *c) { return 12.0 * c->dims[0]; }

static void add_bench(const vkl_kernel *self, uint32_t variant, const vkl_bench_shape *b, vkl_case **cases)
{
    uint32_t n = b->M * b->dim;
    vkl_elementwise_case_add(cases, self, variant, n);
}

const vkl_kernel vkl_kernel_add = {
    .name = "add",
    .dim_names = { "N" },
    .dim_count = 1,
    .variants = variants,
    .variant_count = sizeof variants / sizeof variants[0],
    .tensor_count = 3,
    .shapes = add_shapes,
    .tensors = add_tensors,
    .launch = vkl_launch_elementwise,
    .expect = add_expect,
    .flops = add_flops,
    .bytes = add_bytes,
    .bench_shapes = add_bench,
};
