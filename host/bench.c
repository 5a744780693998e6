#include "host/bench.h"

#include "host/arch.h"

#include <math.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/clock.h"
#include "host/dispatch.h"
#include "host/model_presets.h"
#include "runtime/buffer.h"
#include "runtime/command.h"

// ---------------------------------------------------------------- suites

// The bench's own addition to the mkmodel presets: stories260K's widths as 8 experts, top-2,
// so the MoE kernels have a suite that every device can hold.
static const vkl_model_preset STORIES_MOE = {
    "stories260k-moe8", { .arch = &vkl_arch_llama, .dim = 64, .hidden_dim = 172, .n_heads = 8, .n_kv_heads = 4, .vocab_size = 512,
                          .n_experts = 8, .n_experts_used = 2 } };
static const uint32_t CONTEXTS[] = { 512, 4096, 8192 };
static const uint32_t PREFILL_M = 512;

static void add_unique(vkl_bench_case **out, const vkl_case *cases, ptrdiff_t n, const char *suite,
                       const vkl_case_filter *filter)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        bool seen = false;
        for (ptrdiff_t j = 0; j < arrlen(*out) && !seen; j++) seen = strcmp((*out)[j].c.name, cases[i].name) == 0;
        if (seen || !vkl_case_selected(filter, cases[i].name)) continue;
        vkl_bench_case b = { .c = cases[i] };
        snprintf(b.suite, sizeof b.suite, "%s", suite);
        arrput(*out, b);
    }
}

static void suite_step(const vkl_model_preset *m, uint32_t M, uint32_t context, const vkl_case_filter *filter,
                       vkl_bench_case **out)
{
    const vkl_model_config *c = &m->config;
    vkl_bench_shape shape = { .model = m->name, .dim = c->dim, .hidden = c->hidden_dim, .heads = c->n_heads,
                              .kv_heads = c->n_kv_heads, .head_dim = c->dim / c->n_heads, .vocab = c->vocab_size,
                              .experts = c->n_experts, .experts_used = c->n_experts_used, .M = M, .context = context };
    char suite[48];
    snprintf(suite, sizeof suite, "%s %s ctx %u", m->name, M == 1 ? "decode" : "prefill", context);
    for (uint32_t k = 0; k < vkl_kernel_count; k++) {
        const vkl_kernel *kernel = vkl_kernels[k];
        for (uint32_t v = 0; v < kernel->variant_count && kernel->bench_shapes; v++) {
            if (kernel->variants[v].fault) continue;
            vkl_case *cases = NULL;
            kernel->bench_shapes(kernel, v, &shape, &cases);
            add_unique(out, cases, arrlen(cases), suite, filter);
            arrfree(cases);
        }
    }
}

void vkl_bench_suites(const vkl_case_filter *filter, vkl_bench_case **out)
{
    // stories260K, its MoE twin, then the other presets; quick: those two and Llama-2-7B.
    const vkl_model_preset *models[8] = { &vkl_model_presets[0], &STORIES_MOE };
    size_t count = 2;
    for (size_t i = 1; i < vkl_model_preset_count && count < 8; i++)
        if (vkl_model_presets[i].config.arch == &vkl_arch_llama &&  // the kernel suites are llama's blocks
            (!filter->quick || !strcmp(vkl_model_presets[i].name, "llama2-7b")))
            models[count++] = &vkl_model_presets[i];
    for (size_t i = 0; i < count; i++) {
        for (size_t c = 0; c < (filter->quick ? 1 : sizeof CONTEXTS / sizeof CONTEXTS[0]); c++) {
            suite_step(models[i], 1, CONTEXTS[c], filter, out);
            if (!filter->quick && CONTEXTS[c] >= PREFILL_M) suite_step(models[i], PREFILL_M, CONTEXTS[c], filter, out);
        }
    }
    for (uint32_t k = 0; k < vkl_kernel_count; k++) {  // kernels without suite shapes
        const vkl_kernel *kernel = vkl_kernels[k];
        if (kernel->bench_shapes) continue;
        for (uint32_t v = 0; v < kernel->variant_count; v++) {
            if (kernel->variants[v].fault) continue;
            vkl_case *cases = NULL;
            kernel->shapes(kernel, v, filter->quick, &cases);
            add_unique(out, cases, arrlen(cases), "check shapes", filter);
            arrfree(cases);
        }
    }
}

// ---------------------------------------------------------------- timing

#define BENCH_MAX_SETS 8u
#define BENCH_MAX_RUNS 64u
#define BENCH_CACHE_BYTES (256ull << 20)  // larger than the last-level caches of GPUs and CPUs
// Warm-up on GPUs. GPUs lower their clocks when idle, and the device idles while the host draws
// a case's inputs: an H100 left 1,980 MHz for 345 after 2-3 s idle and came back only after up
// to a second of load, and f16 GEMVs, attn_qkv and decode attention timed after a 50 ms warm-up
// ran 1.8-3.6x slower than after 2 s (benchmarks/README.md, thirteenth stop). So a case that finds
// the device idle for over BENCH_IDLE_S warms up for BENCH_WARMUP_COLD_S of wall time, in
// batches of about BENCH_WARMUP_BATCH_US of GPU time; one that follows another at once, for
// BENCH_WARMUP_US of GPU time. CPU devices (their runs are milliseconds; CI's time) warm up with
// one run per set.
#define BENCH_IDLE_S 1.0
#define BENCH_WARMUP_COLD_S 2.0
#define BENCH_WARMUP_US 50000.0
#define BENCH_WARMUP_BATCH_US 20000.0
#define BENCH_WARMUP_RUNS 512u  // the most runs of one warm-up batch (command buffer)

struct vkl_bencher {
    vkl_device *device;
    vkl_pipeline_set *pipelines;
    vkl_peaks peaks;
    vkl_bench_options options;
    double busy_until;  // when the device last finished work of this bencher (vkl_seconds_now; 0: never)
};

vkl_status vkl_bencher_create(vkl_device *device, const vkl_peaks *peaks, const vkl_bench_options *options,
                              vkl_bencher **out)
{
    vkl_bencher *b = calloc(1, sizeof *b);
    if (!b) return VKL_ERR_OUT_OF_MEMORY;
    *b = (vkl_bencher){ .device = device, .peaks = *peaks, .options = *options };
    vkl_status status = vkl_pipeline_set_create(device, &b->pipelines);
    if (status != VKL_OK) {
        free(b);
        return status;
    }
    *out = b;
    return VKL_OK;
}

void vkl_bencher_destroy(vkl_bencher *b)
{
    if (!b) return;
    vkl_pipeline_set_destroy(b->pipelines);
    free(b);
}

typedef struct bench_sets {
    uint32_t count, tensors;
    vkl_buffer buffers[BENCH_MAX_SETS][VKL_MAX_TENSORS];
    vkl_binding bindings[BENCH_MAX_SETS][VKL_MAX_TENSORS];
} bench_sets;

static void release_sets(vkl_device *device, bench_sets *s)
{
    for (uint32_t i = 0; i < BENCH_MAX_SETS; i++)
        for (uint32_t t = 0; t < s->tensors; t++) vkl_buffer_destroy(device, &s->buffers[i][t]);
}

// Inputs drawn as the checker draws them in the first set; the other sets are device copies of
// it, at other addresses, which defeat the caches as well (on a GPU, 8 large cases took 58 s
// whose timed runs add up to a few: set-up, which drawing every set made a multiple of one
// set's). Outputs are left as allocated.
static vkl_status fill_set(vkl_bencher *b, const vkl_case *c, const vkl_tensor_desc *descs, uint32_t set,
                           bench_sets *s)
{
    vkl_rng rng;
    vkl_rng_seed(&rng, b->options.seed ^ vkl_hash_string(c->name));
    for (uint32_t t = 0; t < c->kernel->tensor_count; t++) {
        uint64_t bytes = vkl_dtype_bytes(descs[t].dtype, descs[t].count);
        bytes = bytes ? bytes : 4;
        VKL_TRY(vkl_buffer_create(b->device, bytes, &s->buffers[set][t]));
        s->bindings[set][t] = (vkl_binding){ &s->buffers[set][t], 0, bytes };
        if (descs[t].role != VKL_IN && descs[t].role != VKL_INOUT) continue;
        if (set > 0) {
            VKL_TRY(vkl_copy_buffer_now(b->device, &s->buffers[0][t], 0, &s->buffers[set][t], 0, bytes));
            continue;
        }
        float *values = malloc(descs[t].count * sizeof *values);
        uint8_t *data = malloc(bytes);
        vkl_status status = values && data ? VKL_OK : VKL_ERR_OUT_OF_MEMORY;
        if (status == VKL_OK) {
            vkl_tensor_fill(c, t, &descs[t], &rng, values, data);
            status = vkl_buffer_upload(b->device, &s->buffers[set][t], 0, data, bytes);
        }
        free(values);
        free(data);
        VKL_TRY(status);
    }
    return VKL_OK;
}

static bool set_bytes(const vkl_device *device, const vkl_case *c, const vkl_tensor_desc *descs, uint32_t n,
                      uint64_t *total, vkl_bench_result *r)
{
    *total = 0;
    for (uint32_t t = 0; t < n; t++) {
        uint64_t bytes = vkl_dtype_bytes(descs[t].dtype, descs[t].count);
        uint64_t limit = vkl_tensor_binding_limit(device->info, c, t);
        if (bytes > limit) {
            snprintf(r->detail, sizeof r->detail, "%s needs %llu bytes, over the %llu one binding may span",
                     descs[t].name, (unsigned long long)bytes, (unsigned long long)limit);
            return false;
        }
        *total += bytes;
    }
    return true;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Records `runs` runs rotating over the sets, a timestamp between consecutive runs.
static vkl_status time_runs(vkl_bencher *b, const vkl_case *c, const bench_sets *s, uint32_t runs, double *us)
{
    vkl_launch launches[VKL_MAX_DISPATCHES];
    memset(launches, 0, sizeof launches);
    uint32_t n = c->kernel->launch(c, launches);
    vkl_cmd *cmd;
    vkl_cmd_desc desc = { .max_dispatches = runs * n, .max_timestamps = runs + 1 };
    VKL_TRY(vkl_cmd_create(b->device, &desc, &cmd));
    vkl_status status = cmd->query_pool ? vkl_cmd_begin(cmd) : VKL_ERR_UNSUPPORTED;
    uint32_t first = 0, q;
    if (status == VKL_OK) status = vkl_cmd_timestamp(cmd, &first);
    for (uint32_t i = 0; i < runs && status == VKL_OK; i++) {
        vkl_cmd_barrier(cmd);  // runs do not overlap: each is timed alone
        status = vkl_record_launches(cmd, b->pipelines, c, s->bindings[i % s->count], launches, n);
        if (status == VKL_OK) status = vkl_cmd_timestamp(cmd, &q);
    }
    if (status == VKL_OK) status = vkl_cmd_submit_wait(cmd);
    for (uint32_t i = 0; i < runs && status == VKL_OK; i++) {
        double ns;
        status = vkl_cmd_elapsed_ns(cmd, first + i, first + i + 1, &ns);
        us[i] = ns / 1000.0;
    }
    vkl_cmd_destroy(cmd);
    return status;
}

// Warm-up: every set once (pipelines, caches), then on GPUs batches of runs until the device's
// clocks are up (see BENCH_WARMUP_COLD_S). Returns the last run's time.
static vkl_status warm_up(vkl_bencher *b, const vkl_case *c, const bench_sets *s, double *last_us)
{
    double us[BENCH_WARMUP_RUNS], spent_us = 0.0, start = vkl_seconds_now();
    bool gpu = b->device->info->type != VK_PHYSICAL_DEVICE_TYPE_CPU;
    bool cold = b->busy_until == 0.0 || start - b->busy_until > BENCH_IDLE_S;
    uint32_t runs = s->count;
    for (;;) {
        VKL_TRY(time_runs(b, c, s, runs, us));
        for (uint32_t i = 0; i < runs; i++) spent_us += us[i];
        *last_us = us[runs - 1];
        if (!gpu || (cold ? vkl_seconds_now() - start >= BENCH_WARMUP_COLD_S : spent_us >= BENCH_WARMUP_US)) break;
        double batch_us = cold ? BENCH_WARMUP_BATCH_US : BENCH_WARMUP_US - spent_us;
        runs = (uint32_t)fmax(1.0, fmin(BENCH_WARMUP_RUNS, ceil(batch_us / fmax(*last_us, 0.01))));
    }
    return VKL_OK;
}

static vkl_status measure(vkl_bencher *b, const vkl_case *c, bench_sets *s, vkl_bench_result *r)
{
    double us[BENCH_MAX_RUNS], last = 0.0;
    VKL_TRY(warm_up(b, c, s, &last));
    double estimate = last > 0.01 ? last : 0.01;
    uint32_t runs = (uint32_t)fmin(BENCH_MAX_RUNS, fmax(5.0, b->options.target_seconds * 1e6 / estimate));
    if (estimate > b->options.target_seconds * 1e6) runs = 3;  // slow cases: a few runs
    VKL_TRY(time_runs(b, c, s, runs, us));
    b->busy_until = vkl_seconds_now();
    qsort(us, runs, sizeof us[0], compare_double);
    r->us_min = us[0];
    r->us_max = us[runs - 1];
    r->us_median = runs % 2 ? us[runs / 2] : 0.5 * (us[runs / 2 - 1] + us[runs / 2]);
    r->runs = runs;
    r->status = VKL_CASE_PASS;
    return VKL_OK;
}

vkl_status vkl_bencher_run(vkl_bencher *b, const vkl_case *c, vkl_bench_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = VKL_CASE_SKIP;
    vkl_tensor_desc descs[VKL_MAX_TENSORS];
    c->kernel->tensors(c, descs);
    uint64_t total;
    if (!set_bytes(b->device, c, descs, c->kernel->tensor_count, &total, r)) return VKL_OK;
    double min_us = vkl_peaks_min_us(&b->peaks, c->kernel->flops(c), c->kernel->bytes(c));
    if (b->options.max_case_seconds > 0 && min_us * 3 > b->options.max_case_seconds * 1e6) {
        snprintf(r->detail, sizeof r->detail, "at the roofline 3 runs take %.0f s, over --max-seconds %.0f",
                 min_us * 3e-6, b->options.max_case_seconds);
        return VKL_OK;
    }
    bench_sets *s = calloc(1, sizeof *s);
    if (!s) return VKL_ERR_OUT_OF_MEMORY;
    s->tensors = c->kernel->tensor_count;
    s->count = total >= BENCH_CACHE_BYTES ? 1 : (uint32_t)fmin(BENCH_MAX_SETS, ceil((double)BENCH_CACHE_BYTES / total));
    r->sets = s->count;
    vkl_status status = VKL_OK;
    for (uint32_t i = 0; i < s->count && status == VKL_OK; i++) status = fill_set(b, c, descs, i, s);
    if (status == VKL_OK) status = measure(b, c, s, r);
    release_sets(b->device, s);
    free(s);
    return status;
}
