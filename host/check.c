#include "host/check.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/dispatch.h"
#include "host/formats.h"
#include "host/half.h"

// A quiet NaN as f32 and as both f16 halves, so reads of guards or padding poison results.
#define POISON_WORD 0x7FC17FC1u

// ---------------------------------------------------------------- selection

bool vkl_case_matches(const char *pattern, const char *name)
{
    if (fnmatch(pattern, name, 0) == 0) return true;
    // A pattern naming a kernel or kernel/variant selects everything below it.
    size_t len = strlen(name);
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '/') continue;
        char prefix[VKL_CASE_NAME_MAX];
        snprintf(prefix, sizeof prefix, "%.*s", (int)i, name);
        if (fnmatch(pattern, prefix, 0) == 0) return true;
    }
    return false;
}

bool vkl_case_selected(const vkl_case_filter *filter, const char *name)
{
    for (uint32_t i = 0; i < filter->exclude_count; i++)
        if (vkl_case_matches(filter->excludes[i], name)) return false;
    if (filter->pattern_count == 0) return true;
    for (uint32_t i = 0; i < filter->pattern_count; i++)
        if (vkl_case_matches(filter->patterns[i], name)) return true;
    return false;
}

void vkl_cases_select(const vkl_case_filter *filter, vkl_case **cases)
{
    vkl_case *all = NULL;
    for (uint32_t k = 0; k < vkl_kernel_count; k++) {
        const vkl_kernel *kernel = vkl_kernels[k];
        for (uint32_t v = 0; v < kernel->variant_count; v++)
            if (!kernel->variants[v].fault || filter->faults) kernel->shapes(kernel, v, filter->quick, &all);
    }
    for (ptrdiff_t i = 0; i < arrlen(all); i++)
        if (vkl_case_selected(filter, all[i].name)) arrput(*cases, all[i]);
    arrfree(all);
}

// ---------------------------------------------------------------- checker

struct vkl_checker {
    vkl_device *device;
    vkl_cmd *cmd;
    vkl_pipeline_set *pipelines;
};

vkl_status vkl_checker_create(vkl_device *device, vkl_checker **out)
{
    *out = NULL;
    vkl_checker *checker = calloc(1, sizeof *checker);
    if (!checker) return VKL_ERR_OUT_OF_MEMORY;
    checker->device = device;
    vkl_status status = vkl_cmd_create(device, NULL, &checker->cmd);
    if (status == VKL_OK) status = vkl_pipeline_set_create(device, &checker->pipelines);
    if (status != VKL_OK) {
        vkl_checker_destroy(checker);
        return status;
    }
    *out = checker;
    return VKL_OK;
}

void vkl_checker_destroy(vkl_checker *checker)
{
    if (!checker) return;
    vkl_pipeline_set_destroy(checker->pipelines);
    vkl_cmd_destroy(checker->cmd);
    free(checker);
}

// One tensor of a case: host values, the device image (guard | data | padding | guard) and
// the buffer holding it.
typedef struct tensor_slot {
    vkl_tensor_desc desc;
    float *values;        // (count) inputs as stored, or expected outputs
    double *bounds;       // (count) outputs and in/out tensors only
    uint8_t *image;       // (guard + data_bytes + guard)
    uint64_t data_bytes;  // rounded up to whole words
    vkl_buffer buffer;
} tensor_slot;

typedef struct case_run {
    vkl_checker *checker;
    const vkl_case *c;
    uint64_t guard;       // bytes on each side of every tensor
    tensor_slot slots[VKL_MAX_TENSORS];
} case_run;

static void set_result(vkl_case_result *r, vkl_case_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_result(vkl_case_result *r, vkl_case_status status, const char *fmt, ...)
{
    r->status = status;
    va_list args;
    va_start(args, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, args);
    va_end(args);
}

uint64_t vkl_tensor_binding_limit(const vkl_device_info *info, const vkl_case *c, uint32_t t)
{
    if (t < 32 && c->kernel->variants[c->variant].texel_mask >> t & 1u) return 16ull * info->max_texel_buffer_elements;
    return info->max_storage_buffer_range;
}

// Checks sizes against the device before anything is allocated; false means skip.
static bool case_fits(case_run *run, vkl_case_result *r)
{
    const vkl_device_info *info = run->checker->device->info;
    if (run->c->kernel->variants[run->c->variant].texel_mask && !info->texel_reads) {
        set_result(r, VKL_CASE_SKIP, "the device has no RGBA32UI storage texel buffers");
        return false;
    }
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        tensor_slot *s = &run->slots[t];
        uint64_t limit = vkl_tensor_binding_limit(info, run->c, t);
        if (s->data_bytes > limit) {
            set_result(r, VKL_CASE_SKIP, "%s needs %llu bytes, over the %llu one binding may span", s->desc.name,
                       (unsigned long long)s->data_bytes, (unsigned long long)limit);
            return false;
        }
    }
    return true;
}

static void fill_words(uint8_t *dst, uint64_t bytes)
{
    uint32_t word = POISON_WORD;
    for (uint64_t i = 0; i + 4 <= bytes; i += 4) memcpy(dst + i, &word, 4);
}

// One f16 value in 16 becomes a subnormal and one a signed zero, with the sign it had: uniform
// values almost never land there, and a device that flushes subnormals or mishandles zero in
// its f16 decode must fail the check.
static void add_f16_special_values(vkl_rng *rng, float *values, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t r = vkl_rng_next(rng);
        float sign = values[i] < 0.0f ? -1.0f : 1.0f;
        if (r % 16 == 0) values[i] = sign * (float)(1 + (r >> 8) % 1023) * 0x1p-24f;  // all 1023 subnormals
        else if (r % 16 == 1) values[i] = sign * 0.0f;
    }
}

// A quantized input: random valid blocks (vkl_format_random_block: every quant code occurs, and
// the largest |value| of a block is drawn up to the tensor's range; one block in 16 is zeros, so
// zero scales occur). The checker's values are their dequantization (what the device must
// see), and the device gets the repacked bytes. Drawing blocks, not quantizing values, keeps a
// case fast: the K-quants' scale searches run at about 3.5 M values/s.
static bool fill_quantized(const vkl_tensor_desc *d, vkl_rng *rng, float *values, uint8_t *data)
{
    const vkl_format *f = vkl_format_of(d->dtype);
    uint64_t file_bytes;
    if (!vkl_format_file_bytes(f, d->count, &file_bytes)) return false;
    uint8_t *file = malloc(file_bytes ? file_bytes : 1);
    if (!file) return false;
    float range = fmaxf(fabsf(d->lo), fabsf(d->hi));
    for (uint64_t b = 0; b < d->count / f->block; b++) {
        float magnitude = vkl_rng_next(rng) % 16 == 0 ? 0.0f : range * vkl_rng_uniform(rng, 0.25f, 1.0f);
        vkl_format_random_block(f, rng, magnitude, file + b * f->block_bytes);
    }
    vkl_format_dequantize(f, file, d->count, values);
    vkl_format_repack(f, file, d->count, data);
    free(file);
    return true;
}

void vkl_tensor_fill(const vkl_case *c, uint32_t t, const vkl_tensor_desc *d, vkl_rng *rng, float *values,
                     uint8_t *data)
{
    if (c->kernel->fill) c->kernel->fill(c, t, rng, values);
    else if (d->dtype == VKL_DTYPE_U32)
        for (uint64_t i = 0; i < d->count; i++) values[i] = floorf(vkl_rng_uniform(rng, d->lo, d->hi + 1.0f));
    else {
        for (uint64_t i = 0; i < d->count; i++) values[i] = vkl_rng_uniform(rng, d->lo, d->hi);
        if (d->dtype == VKL_DTYPE_F16) add_f16_special_values(rng, values, d->count);
    }
    if (vkl_dtype_is_quantized(d->dtype)) {
        if (!fill_quantized(d, rng, values, data)) abort();  // whole blocks: the kernels' shapes say so
        return;
    }
    for (uint64_t i = 0; i < d->count; i++) {
        if (d->dtype == VKL_DTYPE_F16) {
            uint16_t h = vkl_f32_to_f16(values[i]);
            values[i] = vkl_f16_to_f32(h);  // the reference sees what the device sees
            memcpy(data + 2 * i, &h, 2);
        } else if (d->dtype == VKL_DTYPE_U32) {
            uint32_t u = (uint32_t)values[i];
            memcpy(data + 4 * i, &u, 4);
        } else {
            memcpy(data + 4 * i, &values[i], 4);
        }
    }
}

static void fill_input(case_run *run, uint32_t t, vkl_rng *rng)
{
    tensor_slot *s = &run->slots[t];
    vkl_tensor_fill(run->c, t, &s->desc, rng, s->values, s->image + run->guard);
}

static vkl_status prepare_tensors(case_run *run, uint64_t seed)
{
    vkl_rng rng;
    vkl_rng_seed(&rng, seed);
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        tensor_slot *s = &run->slots[t];
        uint64_t image_bytes = run->guard * 2 + s->data_bytes;
        s->values = malloc(s->desc.count * sizeof *s->values);
        s->image = malloc(image_bytes);
        bool checked = s->desc.role == VKL_OUT || s->desc.role == VKL_INOUT;
        if (checked) s->bounds = malloc(s->desc.count * sizeof *s->bounds);
        if (!s->values || !s->image || (checked && !s->bounds)) return VKL_ERR_OUT_OF_MEMORY;
        fill_words(s->image, image_bytes);
        if (s->desc.role == VKL_IN || s->desc.role == VKL_INOUT) fill_input(run, t, &rng);
        VKL_TRY(vkl_buffer_create(run->checker->device, image_bytes, &s->buffer));
        VKL_TRY(vkl_buffer_upload(run->checker->device, &s->buffer, 0, s->image, image_bytes));
    }
    return VKL_OK;
}

static vkl_status dispatch(case_run *run, vkl_case_result *r)
{
    vkl_launch launches[VKL_MAX_DISPATCHES];
    memset(launches, 0, sizeof launches);
    uint32_t n = run->c->kernel->launch(run->c, launches);
    vkl_cmd *cmd = run->checker->cmd;
    uint32_t t0 = 0, t1 = 0;
    bool timed = cmd->query_pool != VK_NULL_HANDLE;
    VKL_TRY(vkl_cmd_begin(cmd));
    if (timed) VKL_TRY(vkl_cmd_timestamp(cmd, &t0));
    vkl_binding tensors[VKL_MAX_TENSORS];
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        // The tail guard is inside the bound range: drivers that bounds-check bindings (lavapipe)
        // would drop a write past the range, hiding the bug on them. Kernels learn sizes from push
        // constants, never from the range.
        uint64_t range = run->slots[t].data_bytes + run->guard;
        uint64_t max_range = vkl_tensor_binding_limit(run->checker->device->info, run->c, t);
        tensors[t] = (vkl_binding){ &run->slots[t].buffer, run->guard, range <= max_range ? range : max_range };
    }
    VKL_TRY(vkl_record_launches(cmd, run->checker->pipelines, run->c, tensors, launches, n));
    if (timed) VKL_TRY(vkl_cmd_timestamp(cmd, &t1));
    VKL_TRY(vkl_cmd_submit_wait(cmd));
    double ns = NAN;
    if (timed) VKL_TRY(vkl_cmd_elapsed_ns(cmd, t0, t1, &ns));
    r->gpu_us = ns / 1000.0;
    return VKL_OK;
}

// Reads element i of a downloaded tensor; false when it still holds the poison pattern.
static bool read_element(const tensor_slot *s, const uint8_t *data, uint64_t i, double *value)
{
    if (s->desc.dtype == VKL_DTYPE_F16) {
        uint16_t h;
        memcpy(&h, data + 2 * i, 2);
        *value = vkl_f16_to_f32(h);
        return h != (POISON_WORD & 0xFFFFu);
    }
    uint32_t u;
    memcpy(&u, data + 4 * i, 4);
    if (s->desc.dtype == VKL_DTYPE_U32) *value = u;
    else {
        float f;
        memcpy(&f, &u, 4);
        *value = f;
    }
    return u != POISON_WORD;
}

static bool guards_intact(const case_run *run, const tensor_slot *s, vkl_case_result *r)
{
    uint32_t poison = POISON_WORD;
    const uint8_t *tail = s->image + run->guard + s->data_bytes;
    for (uint64_t off = 0; off < run->guard; off += 4) {
        if (memcmp(s->image + off, &poison, 4) != 0) {
            set_result(r, VKL_CASE_FAIL, "%s: write before the start (guard byte -%llu)", s->desc.name,
                       (unsigned long long)(run->guard - off));
            return false;
        }
        if (memcmp(tail + off, &poison, 4) != 0) {
            set_result(r, VKL_CASE_FAIL, "%s: write past the end (guard byte +%llu)", s->desc.name,
                       (unsigned long long)off);
            return false;
        }
    }
    return true;
}

// Guards first (a stray write can also land in an unwritten slot), then poison and
// non-finite values, then the error against the bound; u32 values must match exactly.
static void judge_output(case_run *run, tensor_slot *s, vkl_case_result *r)
{
    if (!guards_intact(run, s, r)) return;
    const uint8_t *data = s->image + run->guard;
    bool exact = s->desc.dtype == VKL_DTYPE_U32;
    for (uint64_t i = 0; i < s->desc.count; i++) {
        double got;
        if (!read_element(s, data, i, &got))
            return set_result(r, VKL_CASE_FAIL, "%s[%llu] unwritten (still poisoned)", s->desc.name, (unsigned long long)i);
        if (!isfinite(got))
            return set_result(r, VKL_CASE_FAIL, "%s[%llu] = %g is not finite", s->desc.name, (unsigned long long)i, got);
        if (!isfinite(s->values[i]))
            return set_result(r, VKL_CASE_FAIL, "%s[%llu]: reference is not finite", s->desc.name, (unsigned long long)i);
        double err = fabs(got - s->values[i]), bound = exact ? 0.0 : s->bounds[i];
        double ratio = err == 0.0 ? 0.0 : bound > 0.0 ? err / bound : INFINITY;
        if (ratio > r->ratio) {  // the worst element over all output tensors
            r->max_err = err;
            r->bound = bound;
            r->ratio = ratio;
        }
        if (ratio > 1.0 && r->status == VKL_CASE_PASS)
            set_result(r, VKL_CASE_FAIL, "%s[%llu] = %.9g, reference %.9g", s->desc.name, (unsigned long long)i,
                       got, s->values[i]);
    }
}

static vkl_status judge(case_run *run, vkl_case_result *r)
{
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        tensor_slot *s = &run->slots[t];
        if (s->desc.role != VKL_OUT && s->desc.role != VKL_INOUT) continue;
        VKL_TRY(vkl_buffer_download(run->checker->device, &s->buffer, 0, s->image, run->guard * 2 + s->data_bytes));
    }
    float *values[VKL_MAX_TENSORS];
    double *bounds[VKL_MAX_TENSORS];
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        values[t] = run->slots[t].values;
        bounds[t] = run->slots[t].bounds;
    }
    run->c->kernel->expect(run->c, values, bounds);
    r->ratio = -1.0;
    for (uint32_t t = 0; t < run->c->kernel->tensor_count && r->status == VKL_CASE_PASS; t++)
        if (run->slots[t].bounds) judge_output(run, &run->slots[t], r);
    if (r->ratio < 0.0) r->ratio = 0.0;
    return VKL_OK;
}

static void release(case_run *run)
{
    for (uint32_t t = 0; t < VKL_MAX_TENSORS; t++) {
        tensor_slot *s = &run->slots[t];
        if (s->buffer.buffer) vkl_buffer_destroy(run->checker->device, &s->buffer);
        free(s->values);
        free(s->bounds);
        free(s->image);
    }
}

vkl_status vkl_checker_run(vkl_checker *checker, const vkl_case *c, uint64_t seed, vkl_case_result *result)
{
    memset(result, 0, sizeof *result);
    result->gpu_us = NAN;
    case_run run = { .checker = checker, .c = c };
    const vkl_device_info *info = checker->device->info;
    uint64_t align = info->storage_offset_alignment > info->texel_offset_alignment ? info->storage_offset_alignment
                                                                                   : info->texel_offset_alignment;
    run.guard = align > 256 ? align : 256;
    vkl_tensor_desc descs[VKL_MAX_TENSORS];
    c->kernel->tensors(c, descs);
    for (uint32_t t = 0; t < c->kernel->tensor_count; t++) {
        run.slots[t].desc = descs[t];
        run.slots[t].data_bytes = vkl_dtype_bytes(descs[t].dtype, descs[t].count);
    }
    if (!case_fits(&run, result)) return VKL_OK;
    vkl_status status = prepare_tensors(&run, seed ^ vkl_hash_string(c->name));
    if (status == VKL_OK) status = dispatch(&run, result);
    if (status == VKL_OK) status = judge(&run, result);
    release(&run);
    return status;
}

// ---------------------------------------------------------------- live buffers

// Converts a tensor's stored bytes to the checker's float values; false when a quantized
// tensor's copy in the file layout cannot be allocated.
static bool decode_values(const tensor_slot *s, const uint8_t *data)
{
    if (vkl_dtype_is_quantized(s->desc.dtype)) {
        const vkl_format *f = vkl_format_of(s->desc.dtype);
        uint64_t file_bytes;
        if (!vkl_format_file_bytes(f, s->desc.count, &file_bytes)) return false;
        uint8_t *file = malloc(file_bytes ? file_bytes : 1);
        if (!file) return false;
        vkl_format_unpack(f, data, s->desc.count, file);
        vkl_format_dequantize(f, file, s->desc.count, s->values);
        free(file);
        return true;
    }
    for (uint64_t i = 0; i < s->desc.count; i++) {
        double v;
        read_element(s, data, i, &v);
        s->values[i] = (float)v;
    }
    return true;
}

static vkl_status live_prepare(case_run *run, const vkl_binding *tensors, vkl_case_result *r)
{
    for (uint32_t t = 0; t < run->c->kernel->tensor_count; t++) {
        tensor_slot *s = &run->slots[t];
        if (s->data_bytes > tensors[t].range) {
            set_result(r, VKL_CASE_FAIL, "%s: %llu bytes needed, %llu bound", s->desc.name,
                       (unsigned long long)s->data_bytes, (unsigned long long)tensors[t].range);
            return VKL_ERR_INVALID_ARG;
        }
        bool checked = s->desc.role == VKL_OUT || s->desc.role == VKL_INOUT;
        s->values = calloc(s->desc.count ? s->desc.count : 1, sizeof *s->values);
        s->image = malloc(s->data_bytes ? s->data_bytes : 1);
        if (checked) s->bounds = calloc(s->desc.count ? s->desc.count : 1, sizeof *s->bounds);
        if (!s->values || !s->image || (checked && !s->bounds)) return VKL_ERR_OUT_OF_MEMORY;
        if (s->desc.role != VKL_IN && s->desc.role != VKL_INOUT) continue;
        VKL_TRY(vkl_buffer_download(run->checker->device, tensors[t].buffer, tensors[t].offset, s->image, s->data_bytes));
        if (!decode_values(s, s->image)) return VKL_ERR_OUT_OF_MEMORY;
    }
    return VKL_OK;
}

vkl_status vkl_checker_run_live(vkl_checker *checker, const vkl_case *c, const vkl_binding *tensors,
                                vkl_case_result *result)
{
    memset(result, 0, sizeof *result);
    result->gpu_us = NAN;
    case_run run = { .checker = checker, .c = c, .guard = 0 };
    vkl_tensor_desc descs[VKL_MAX_TENSORS];
    c->kernel->tensors(c, descs);
    for (uint32_t t = 0; t < c->kernel->tensor_count; t++) {
        run.slots[t].desc = descs[t];
        run.slots[t].data_bytes = vkl_dtype_bytes(descs[t].dtype, descs[t].count);
    }
    vkl_status status = live_prepare(&run, tensors, result);
    float *values[VKL_MAX_TENSORS];
    double *bounds[VKL_MAX_TENSORS];
    for (uint32_t t = 0; t < c->kernel->tensor_count; t++) {
        values[t] = run.slots[t].values;
        bounds[t] = run.slots[t].bounds;
    }
    if (status == VKL_OK) {
        c->kernel->expect(c, values, bounds);  // from the inputs, before the dispatch changes in/out tensors
        status = vkl_cmd_begin(checker->cmd);
    }
    if (status == VKL_OK) status = vkl_record_kernel(checker->cmd, checker->pipelines, c, tensors);
    if (status == VKL_OK) status = vkl_cmd_submit_wait(checker->cmd);
    result->ratio = -1.0;
    for (uint32_t t = 0; t < c->kernel->tensor_count && status == VKL_OK && result->status == VKL_CASE_PASS; t++) {
        tensor_slot *s = &run.slots[t];
        if (!s->bounds) continue;
        status = vkl_buffer_download(checker->device, tensors[t].buffer, tensors[t].offset, s->image, s->data_bytes);
        if (status == VKL_OK) judge_output(&run, s, result);
    }
    if (result->ratio < 0.0) result->ratio = 0.0;
    release(&run);
    return status == VKL_ERR_INVALID_ARG && result->status == VKL_CASE_FAIL ? VKL_OK : status;
}
