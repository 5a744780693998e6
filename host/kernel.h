// What a kernel declares so that `vkllm check` (and `vkllm bench`) can run it without knowing
// it: its variants, its shapes, its tensors in binding order, how to launch it, and its
// expected outputs with a per-element error bound from the CPU reference.
//
// A kernel lives in shaders/<name>*.comp, shaders/<name>.h (push constants) and
// host/kernels/<name>.c (CPU reference ref_<name>() and this table), plus one line in
// host/kernels/registry.h.
#ifndef VKLLM_KERNEL_H
#define VKLLM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/rng.h"
#include "runtime/context.h"

#define VKL_MAX_DIMS 8
#define VKL_MAX_TENSORS 24
#define VKL_MAX_PUSH_BYTES 128
#define VKL_CASE_NAME_MAX 160
#define VKL_MAX_DISPATCHES 8

#include "host/formats/registry.h"

// Values of every type travel through the checker as float: u32 tensors (token ids, positions,
// counts, status flags) hold integers below 2^24, which float represents exactly. The quantized
// weight formats follow, one per line of host/formats/registry.h (host/formats.h describes them):
// their values are what the format's dequantize() gives.
#define VKL_DTYPE_ENUM_ENTRY(upper, lower) VKL_DTYPE_##upper,
typedef enum vkl_dtype {
    VKL_DTYPE_F32, VKL_DTYPE_F16, VKL_DTYPE_U32, VKLLM_FORMATS(VKL_DTYPE_ENUM_ENTRY) VKL_DTYPE_COUNT
} vkl_dtype;
#undef VKL_DTYPE_ENUM_ENTRY

typedef enum vkl_role {
    VKL_IN,     // read by the kernel: random values (or fill())
    VKL_OUT,    // written by the kernel: poisoned before the dispatch
    VKL_INOUT,  // both, e.g. in-place RoPE or a KV cache: random values, then checked
    VKL_SCRATCH,// passes data between a kernel's dispatches: poisoned, not checked
} vkl_role;

typedef struct vkl_tensor_desc {
    const char *name;   // as in the shader, e.g. "x"
    vkl_dtype dtype;
    uint64_t count;     // elements
    vkl_role role;
    float lo, hi;       // inputs: uniform random range, unless the kernel has a fill();
                        //   u32: integers in [lo, hi]
} vkl_tensor_desc;

typedef struct vkl_variant {
    const char *name;   // appears in case strings, e.g. "gemv.f16"
    const char *shader; // embedded SPIR-V module, e.g. "matmul_gemv.f16"
    bool fault;         // a deliberately broken test-only variant: run only with --faults
    uint32_t texel_mask;// bit i: tensor i, bound at binding i of the variant's shader, is read as an
                        //   RGBA32UI storage texel buffer (CPU devices: vkl_device_prefers_texel_reads)
} vkl_variant;

struct vkl_kernel;

// One model's layer shapes at one step, for the benchmark suites (`vkllm bench`): each kernel
// turns it into the cases that model runs.
typedef struct vkl_bench_shape {
    const char *model;        // e.g. "llama2-7b"
    uint32_t dim, hidden, heads, kv_heads, head_dim, vocab;
    uint32_t experts, experts_used;  // 0: dense FFN
    uint32_t M;               // tokens in the step: 1 (decode) or a prefill batch
    uint32_t context;         // cache positions after the step (the step's rows are the last M)
} vkl_bench_shape;

typedef struct vkl_case {
    const struct vkl_kernel *kernel;
    uint32_t variant;
    uint32_t dims[VKL_MAX_DIMS];
    float scalar;                  // a real-valued parameter (a norm's eps); 0: the kernel's default
    char name[VKL_CASE_NAME_MAX];  // "kernel/variant/D0=..,D1=..": the --filter key
} vkl_case;

// The case's scalar parameter, or `fallback` when it is unset.
static inline float vkl_case_scalar(const vkl_case *c, float fallback) { return c->scalar != 0.0f ? c->scalar : fallback; }

// One dispatch of a kernel run. Zero means default: the variant's shader, every tensor bound
// in order.
typedef struct vkl_launch {
    const char *shader;                  // embedded module, or NULL for the variant's
    uint32_t texel_mask;                 // with `shader`: its texel bindings (else the variant's)
    uint32_t binding_count;              // 0: all tensors, binding i = tensor i
    uint32_t bindings[VKL_MAX_TENSORS];  // else: tensor index bound at each binding
    uint32_t spec_count;                 // specialization constants 0..spec_count-1
    uint32_t spec[4];
    bool spec0_subgroup_min;             // spec constant 0 = the device's smallest subgroup size
    uint32_t push[VKL_MAX_PUSH_BYTES / 4];
    uint32_t push_size;
    uint32_t groups[3];
} vkl_launch;

typedef struct vkl_kernel {
    const char *name;
    const char *dim_names[VKL_MAX_DIMS];  // e.g. {"M", "N", "K"}
    uint32_t dim_count;
    const vkl_variant *variants;
    uint32_t variant_count;
    uint32_t tensor_count;                // = binding count

    // Appends this variant's check shapes to the stb_ds array *cases (vkl_case_add).
    void (*shapes)(const struct vkl_kernel *self, uint32_t variant, bool quick, vkl_case **cases);
    // Describes the tensors bound at 0..tensor_count-1.
    void (*tensors)(const vkl_case *c, vkl_tensor_desc *out);
    // Optional: fills input (or in/out) tensor `index` (count values); default is uniform.
    void (*fill)(const vkl_case *c, uint32_t index, vkl_rng *rng, float *values);
    // Fills out[0..n-1] with the dispatches of one run, in order, with a barrier between
    // consecutive ones; returns n (1 ..VKL_MAX_DISPATCHES).
    uint32_t (*launch)(const vkl_case *c, vkl_launch *out);
    // From the inputs in values[] (as stored: f16 inputs already rounded), writes the
    // expected outputs into values[] and a per-element error bound into bounds[] for every
    // output and in/out tensor, using the CPU reference. u32 outputs are compared exactly.
    void (*expect)(const vkl_case *c, float *const *values, double *const *bounds);
    // Arithmetic operations and the bytes a perfect kernel must move.
    double (*flops)(const vkl_case *c);
    double (*bytes)(const vkl_case *c);
    // Appends the cases that a model of `shape` runs with this variant (none if it runs none).
    void (*bench_shapes)(const struct vkl_kernel *self, uint32_t variant, const vkl_bench_shape *shape,
                         vkl_case **cases);
} vkl_kernel;

// The dims part of a case's name, e.g. "M=1,N=64,K=64".
const char *vkl_case_shape(const vkl_case *c);
// Appends a case with up to VKL_MAX_DIMS dims and builds its name.
void vkl_case_add(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *dims);
// Appends one case per row of a table of `rows` x kernel->dim_count dims.
void vkl_case_add_table(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                        size_t rows);
#define VKL_ADD_SHAPES(cases, kernel, variant, table) \
    vkl_case_add_table(cases, kernel, variant, &(table)[0][0], sizeof(table) / sizeof((table)[0]))
// Appends the rows of a table for which keep(row) holds (a texel variant's subset of shapes).
void vkl_case_add_table_if(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                           size_t rows, bool (*keep)(const uint32_t *dims));
#define VKL_ADD_SHAPES_IF(cases, kernel, variant, table, keep) \
    vkl_case_add_table_if(cases, kernel, variant, &(table)[0][0], sizeof(table) / sizeof((table)[0]), keep)
// shapes() of a kernel with texel twins: the quick or full table; for a texel variant, its
// extra table and the rows of the quick or full one that keep() accepts.
#define VKL_ADD_QUICK_OR_FULL_TEXEL(cases, kernel, variant, is_quick, quick, full, texel, extra, keep) \
    do {                                                                                          \
        if (!(texel)) {                                                                           \
            VKL_ADD_QUICK_OR_FULL(cases, kernel, variant, is_quick, quick, full);                 \
        } else {                                                                                  \
            VKL_ADD_SHAPES(cases, kernel, variant, extra);                                        \
            if (is_quick) VKL_ADD_SHAPES_IF(cases, kernel, variant, quick, keep);                 \
            else VKL_ADD_SHAPES_IF(cases, kernel, variant, full, keep);                           \
        }                                                                                         \
    } while (0)
// The usual shapes(): the quick or the full table.
#define VKL_ADD_QUICK_OR_FULL(cases, kernel, variant, is_quick, quick, full)                      \
    do {                                                                                       \
        if (is_quick) VKL_ADD_SHAPES(cases, kernel, variant, quick);                           \
        else VKL_ADD_SHAPES(cases, kernel, variant, full);                                     \
    } while (0)
// Launch of an elementwise kernel (shaders/elementwise.glsl) over dims[0] elements: one
// invocation per element, or for a texel variant per ELEMENTWISE_TEXELS texels.
uint32_t vkl_launch_elementwise(const vkl_case *c, vkl_launch *out);
// Check shapes of an elementwise kernel (1 dim): the table, or for a texel variant (whole
// texels: n % 4 == 0) a few awkward texel counts and the table's multiples of 4.
void vkl_elementwise_shapes(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                            size_t rows);
#define VKL_ELEMENTWISE_SHAPES(cases, kernel, variant, table) \
    vkl_elementwise_shapes(cases, kernel, variant, &(table)[0][0], sizeof(table) / sizeof((table)[0]))
#define VKL_ELEMENTWISE_QUICK_OR_FULL(cases, kernel, variant, is_quick, quick, full) \
    do {                                                                         \
        if (is_quick) VKL_ELEMENTWISE_SHAPES(cases, kernel, variant, quick);     \
        else VKL_ELEMENTWISE_SHAPES(cases, kernel, variant, full);               \
    } while (0)
// Appends a bench case of n elements, unless the variant is a texel one and n % 4 != 0.
void vkl_elementwise_case_add(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, uint32_t n);
// The variant of an f32 kernel with a texel twin (elementwise kernels, rms_norm) for a device
// and `width` elements (of the whole, or of a row): "texel" where the device reads texels
// faster and `width` fills whole texels, else "f32".
const char *vkl_f32_variant(const vkl_device_info *info, uint64_t width);
// Launch of a one-workgroup-per-row kernel (shaders/rows.h): dims[0] rows of dims[1].
uint32_t vkl_launch_rows(const vkl_case *c, vkl_launch *out, float scalar);
// Fills launch->push from a push-constant struct.
void vkl_launch_set_push(vkl_launch *launch, const void *push, uint32_t size);
// Splits a 1-D workgroup count into (x, y) within the guaranteed 65535 per dimension.
void vkl_split_groups(uint32_t count, uint32_t *x, uint32_t *y);
// Workgroups for one invocation per item, `workgroup` invocations each (shaders/grid.glsl);
// returns groups[0], the groups_x that the shader needs.
uint32_t vkl_launch_items(vkl_launch *launch, uint64_t items, uint32_t workgroup);
// Storage bytes of `count` elements on the device, rounded up to whole 32-bit words (quantized
// formats: their device layout, host/formats.h; count a multiple of the block).
uint64_t vkl_dtype_bytes(vkl_dtype dtype, uint64_t count);

// Every registered kernel (host/kernels/registry.h).
extern const vkl_kernel *const vkl_kernels[];
extern const uint32_t vkl_kernel_count;

#endif
