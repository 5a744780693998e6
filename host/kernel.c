#include "host/kernel.h"
#include "host/formats.h"

#include <stdio.h>
#include <stb/stb_ds.h>
#include <string.h>

#include "shaders/elementwise.h"
#include "shaders/rows.h"

void vkl_case_add(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *dims)
{
    vkl_case c = { .kernel = kernel, .variant = variant };
    memcpy(c.dims, dims, kernel->dim_count * sizeof dims[0]);
    int n = snprintf(c.name, sizeof c.name, "%s/%s/", kernel->name, kernel->variants[variant].name);
    for (uint32_t d = 0; d < kernel->dim_count && n > 0 && (size_t)n < sizeof c.name; d++)
        n += snprintf(c.name + n, sizeof c.name - (size_t)n, "%s%s=%u", d ? "," : "", kernel->dim_names[d], dims[d]);
    arrput(*cases, c);
}

const char *vkl_case_shape(const vkl_case *c)
{
    const char *s = strchr(c->name, '/');
    s = s ? strchr(s + 1, '/') : NULL;
    return s ? s + 1 : c->name;
}

void vkl_case_add_table(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                        size_t rows)
{
    for (size_t r = 0; r < rows; r++) vkl_case_add(cases, kernel, variant, table + r * kernel->dim_count);
}

void vkl_case_add_table_if(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                           size_t rows, bool (*keep)(const uint32_t *dims))
{
    for (size_t r = 0; r < rows; r++)
        if (keep(table + r * kernel->dim_count)) vkl_case_add(cases, kernel, variant, table + r * kernel->dim_count);
}

uint32_t vkl_launch_items(vkl_launch *launch, uint64_t items, uint32_t workgroup)
{
    uint64_t groups = (items + workgroup - 1) / workgroup;
    vkl_split_groups(groups > UINT32_MAX ? UINT32_MAX : (uint32_t)groups, &launch->groups[0], &launch->groups[1]);
    launch->groups[2] = 1;
    return launch->groups[0];
}

void vkl_launch_set_push(vkl_launch *launch, const void *push, uint32_t size)
{
    memcpy(launch->push, push, size);
    launch->push_size = size;
}

void vkl_split_groups(uint32_t count, uint32_t *x, uint32_t *y)
{
    *x = count < VKL_MAX_GROUPS_X ? count : VKL_MAX_GROUPS_X;
    if (*x == 0) *x = 1;
    *y = (count + *x - 1) / *x;
    if (*y == 0) *y = 1;
}

uint64_t vkl_dtype_bytes(vkl_dtype dtype, uint64_t count)
{
    if (vkl_dtype_is_quantized(dtype)) return vkl_format_device_bytes(vkl_format_of(dtype), count);
    uint64_t bytes = dtype == VKL_DTYPE_F16 ? count * 2 : count * 4;
    return (bytes + 3) & ~(uint64_t)3;
}


static bool is_texel_variant(const vkl_case *c) { return c->kernel->variants[c->variant].texel_mask != 0; }

uint32_t vkl_launch_elementwise(const vkl_case *c, vkl_launch *out)
{
    struct elementwise_push push = { .n = c->dims[0] };
    uint64_t texels = push.n / 4;
    uint64_t items = is_texel_variant(c) ? (texels + ELEMENTWISE_TEXELS - 1) / ELEMENTWISE_TEXELS : push.n;
    push.groups_x = vkl_launch_items(out, items, ELEMENTWISE_WG);
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}

static bool whole_texels(const uint32_t *dims) { return dims[0] % 4 == 0; }

void vkl_elementwise_shapes(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, const uint32_t *table,
                            size_t rows)
{
    if (!kernel->variants[variant].texel_mask) {
        vkl_case_add_table(cases, kernel, variant, table, rows);
        return;
    }
    // Whole texels only: 1 texel, 3 (under one invocation's 4), 257 and 65537 (a partial last
    // invocation, past 256 workgroups), then the table's multiples of 4.
    static const uint32_t texel_extra[][1] = { { 4 }, { 12 }, { 1028 }, { 262148 } };
    VKL_ADD_SHAPES(cases, kernel, variant, texel_extra);
    vkl_case_add_table_if(cases, kernel, variant, table, rows, whole_texels);
}

void vkl_elementwise_case_add(vkl_case **cases, const vkl_kernel *kernel, uint32_t variant, uint32_t n)
{
    if (!kernel->variants[variant].texel_mask || n % 4 == 0) vkl_case_add(cases, kernel, variant, &n);
}

const char *vkl_f32_variant(const vkl_device_info *info, uint64_t width)
{
    return vkl_device_prefers_texel_reads(info) && width % 4 == 0 ? "texel" : "f32";
}

uint32_t vkl_launch_rows(const vkl_case *c, vkl_launch *out, float scalar)
{
    struct rows_push push = { .M = c->dims[0], .N = c->dims[1], .scalar = scalar };
    vkl_split_groups(push.M, &out->groups[0], &out->groups[1]);
    out->groups[2] = 1;
    push.groups_x = out->groups[0];
    vkl_launch_set_push(out, &push, sizeof push);
    return 1;
}
