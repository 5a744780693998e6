#include "host/peaks.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/clock.h"
#include "runtime/buffer.h"
#include "runtime/command.h"
#include "runtime/pipeline.h"
#include "shaders/peak.h"

#define PEAK_REPEATS 7u

typedef struct peak_run {
    vkl_device *device;
    vkl_buffer a, b;
    uint64_t bytes;  // of buffer a; b is as large
} peak_run;

static double median(double *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)  // insertion sort: n is small
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median GPU time in microseconds of `count` back-to-back dispatches of one pipeline, timed
// as a whole and divided, over PEAK_REPEATS recordings.
static vkl_status time_dispatch(peak_run *r, const char *shader, const struct peak_push *push, uint32_t groups,
                                uint32_t count, double *us)
{
    vkl_pipeline pipeline;
    uint32_t texel_mask = strstr(shader, "texel") ? 1u : 0u;  // binding 0 is then a texel buffer
    vkl_pipeline_desc desc = { .shader = shader, .binding_count = 2, .texel_mask = texel_mask,
                               .push_size = sizeof *push };
    VKL_TRY(vkl_pipeline_create(r->device, &desc, &pipeline));
    vkl_cmd *cmd = NULL;
    vkl_cmd_desc cd = { .max_dispatches = count, .max_timestamps = 2, .reusable = true };
    vkl_status status = vkl_cmd_create(r->device, &cd, &cmd);
    if (status == VKL_OK && cmd->query_pool == VK_NULL_HANDLE) status = VKL_ERR_UNSUPPORTED;
    vkl_binding bindings[2] = { { &r->a, 0, r->a.size }, { &r->b, 0, r->b.size } };
    uint32_t grid[3] = { groups < VKL_MAX_GROUPS_X ? groups : VKL_MAX_GROUPS_X, (groups + VKL_MAX_GROUPS_X - 1) / VKL_MAX_GROUPS_X, 1 };
    struct peak_push p = *push;
    p.groups_x = grid[0];
    double times[PEAK_REPEATS];
    for (uint32_t rep = 0; rep <= PEAK_REPEATS && status == VKL_OK; rep++) {  // rep 0 warms up
        uint32_t t0, t1;
        status = vkl_cmd_begin(cmd);
        if (status == VKL_OK) status = vkl_cmd_timestamp(cmd, &t0);
        for (uint32_t d = 0; d < count && status == VKL_OK; d++) {
            vkl_cmd_barrier(cmd);
            status = vkl_cmd_dispatch(cmd, &pipeline, bindings, &p, sizeof p, grid);
        }
        if (status == VKL_OK) status = vkl_cmd_timestamp(cmd, &t1);
        if (status == VKL_OK) status = vkl_cmd_submit_wait(cmd);
        double ns = 0.0;
        if (status == VKL_OK) status = vkl_cmd_elapsed_ns(cmd, t0, t1, &ns);
        if (rep) times[rep - 1] = ns / 1000.0 / count;
    }
    vkl_cmd_destroy(cmd);
    vkl_pipeline_destroy(r->device, &pipeline);
    if (status == VKL_OK) *us = median(times, PEAK_REPEATS);
    return status;
}

static vkl_status measure_memory(peak_run *r, vkl_peaks *out)
{
    uint32_t n = (uint32_t)(r->bytes / 16), invocations = 1u << 18;
    if (invocations > n) invocations = n;
    struct peak_push read = { .n = n, .per_item = (n + invocations - 1) / invocations, .invocations = invocations };
    double us;
    double blocked_us;  // the better of the two access patterns
    uint32_t groups = (invocations + PEAK_WG - 1) / PEAK_WG;
    VKL_TRY(time_dispatch(r, "peak.read", &read, groups, 1, &us));
    VKL_TRY(time_dispatch(r, "peak.read_blocked", &read, groups, 1, &blocked_us));
    double bytes = r->bytes + 16.0 * invocations;
    out->read_storage_gbps = bytes / fmin(us, blocked_us) / 1000.0;
    if (r->device->info->texel_reads) {  // fewer, longer invocations: CPU devices pay per invocation
        struct peak_push texel = read;
        texel.invocations = invocations / 64u;
        texel.per_item = (n + 8u * texel.invocations - 1) / (8u * texel.invocations) * 8u;  // 8 streams
        VKL_TRY(time_dispatch(r, "peak.read_texel", &texel, (texel.invocations + PEAK_WG - 1) / PEAK_WG, 1, &us));
        out->read_texel_gbps = (r->bytes + 16.0 * texel.invocations) / us / 1000.0;
    }
    out->read_gbps = fmax(out->read_storage_gbps, out->read_texel_gbps);
    struct peak_push copy = { .n = n };
    VKL_TRY(time_dispatch(r, "peak.copy", &copy, (n + PEAK_WG - 1) / PEAK_WG, 1, &us));
    out->copy_gbps = 2.0 * r->bytes / us / 1000.0;
    struct peak_push empty = { .n = 0 };
    return time_dispatch(r, "peak.copy", &empty, 1, 100, &out->dispatch_us);
}

// Scales the invocation count until one dispatch takes about 20 ms, so the rate is not a
// measure of launch overhead.
static vkl_status measure_fma(peak_run *r, const char *shader, double *gflops)
{
    uint32_t invocations = 1u << 14;
    double us = 0.0;
    for (int round = 0; round < 4; round++) {
        struct peak_push push = { .invocations = invocations };
        VKL_TRY(time_dispatch(r, shader, &push, invocations / PEAK_WG, 1, &us));
        if (us > 10000.0 || invocations >= (1u << 24)) break;
        double scale = 20000.0 / (us > 1.0 ? us : 1.0);
        invocations = (uint32_t)fmin((double)(1u << 24), invocations * fmin(scale, 64.0));
        invocations = (invocations + PEAK_WG - 1) / PEAK_WG * PEAK_WG;
    }
    double flops = (double)invocations * PEAK_FMA_ITERS * 8.0 * PEAK_FMA_CHAINS * 4.0 * 2.0;
    *gflops = flops / us / 1000.0;
    return VKL_OK;
}

static vkl_status measure_submit(vkl_device *device, double *us)
{
    vkl_cmd *cmd;
    vkl_cmd_desc desc = { .max_dispatches = 1, .max_timestamps = 1, .reusable = true };
    VKL_TRY(vkl_cmd_create(device, &desc, &cmd));
    vkl_status status = vkl_cmd_begin(cmd);
    if (status == VKL_OK) status = vkl_cmd_end(cmd);
    VkFence fence = VK_NULL_HANDLE;
    VkFenceCreateInfo info = { VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    if (status == VKL_OK && vkCreateFence(device->device, &info, NULL, &fence) != VK_SUCCESS) status = VKL_ERR_VULKAN;
    double times[51];
    for (uint32_t i = 0; i < 51 && status == VKL_OK; i++) {
        double t = vkl_seconds_now();
        status = vkl_submit_wait(device, &cmd, 1, fence);
        times[i] = (vkl_seconds_now() - t) * 1e6;
    }
    if (status == VKL_OK) *us = median(times, 51);
    if (fence) vkDestroyFence(device->device, fence, NULL);
    vkl_cmd_destroy(cmd);
    return status;
}

// ---------------------------------------------------------------- host DRAM

typedef struct cpu_slice {
    const uint64_t *data;
    size_t words;
    uint64_t sum;
} cpu_slice;

static void *sum_slice(void *arg)
{
    cpu_slice *s = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= s->words; i += 4) {
        a += s->data[i];
        b += s->data[i + 1];
        c += s->data[i + 2];
        d += s->data[i + 3];
    }
    s->sum = a + b + c + d;
    return NULL;
}

// Every core summing its share of 512 MiB, best of three passes.
static double cpu_read_gbps(void)
{
    size_t bytes = 512ull << 20, words = bytes / 8;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t threads = cores < 1 ? 1 : cores > 64 ? 64 : (uint32_t)cores;
    uint64_t *data = malloc(bytes);
    if (!data) return 0.0;
    for (size_t i = 0; i < words; i++) data[i] = i;
    pthread_t tid[64];
    cpu_slice slices[64];
    double best = 0.0;
    for (int pass = 0; pass < 3; pass++) {
        double t = vkl_seconds_now();
        for (uint32_t i = 0; i < threads; i++) {
            slices[i] = (cpu_slice){ data + i * (words / threads), words / threads, 0 };
            pthread_create(&tid[i], NULL, sum_slice, &slices[i]);
        }
        for (uint32_t i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        double gbps = (double)(words / threads) * threads * 8.0 / (vkl_seconds_now() - t) / 1e9;
        best = gbps > best ? gbps : best;
    }
    free(data);
    return best;
}

// ---------------------------------------------------------------- cache

const char *vkl_peaks_cpu_threads(const vkl_device *device)
{
    const char *threads = getenv("LP_NUM_THREADS");
    return device->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU && threads && threads[0] ? threads : NULL;
}

// Per device and driver; on a CPU device also per LP_NUM_THREADS, as llvmpipe's worker
// threads change what it reaches.
static bool cache_file(const vkl_device *device, char *path, size_t size)
{
    const char *p = device->pipeline_cache_path, *slash = strrchr(p, '/');
    if (!p[0] || !slash) return false;
    const char *threads = vkl_peaks_cpu_threads(device);
    snprintf(path, size, "%.*s/peaks-%04x-%04x-%s%s%.16s.txt", (int)(slash - p), p, device->info->vendor_id,
             device->info->device_id, device->info->driver_version, threads ? "-threads" : "", threads ? threads : "");
    for (char *c = path + (slash - p) + 1; *c; c++)
        if (*c == ' ' || *c == '/') *c = '_';
    return true;
}

static bool read_cache(const char *path, vkl_peaks *p)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    int n = fscanf(f, "vkllm-peaks-2 %lf %lf %lf %lf %lf %lf %lf %lf %lf", &p->read_gbps, &p->read_storage_gbps,
                   &p->read_texel_gbps, &p->copy_gbps, &p->fma_f32_gflops, &p->fma_f16_gflops, &p->dispatch_us,
                   &p->submit_us, &p->cpu_read_gbps);
    fclose(f);
    return n == 9 && p->read_gbps > 0 && p->fma_f32_gflops > 0;
}

static void write_cache(const char *path, const vkl_peaks *p)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "vkllm-peaks-2 %.6g %.6g %.6g %.6g %.6g %.6g %.6g %.6g %.6g\n", p->read_gbps, p->read_storage_gbps,
            p->read_texel_gbps, p->copy_gbps, p->fma_f32_gflops, p->fma_f16_gflops, p->dispatch_us, p->submit_us,
            p->cpu_read_gbps);
    fclose(f);
}

// ---------------------------------------------------------------- measurement

static vkl_status measure(vkl_device *device, vkl_peaks *out)
{
    const vkl_device_info *info = device->info;
    peak_run r = { .device = device, .bytes = 256ull << 20 };
    if (r.bytes > info->max_storage_buffer_range) r.bytes = info->max_storage_buffer_range & ~(uint64_t)255;
    vkl_status status = vkl_buffer_create(device, r.bytes, &r.a);
    if (status == VKL_OK) status = vkl_buffer_create(device, r.bytes, &r.b);
    if (status == VKL_OK) status = vkl_zero_buffer_now(device, &r.a);  // reads are timed on defined data
    if (status == VKL_OK) status = measure_memory(&r, out);
    if (status == VKL_OK) status = measure_fma(&r, "peak.fma_f32", &out->fma_f32_gflops);
    if (status == VKL_OK && info->fp16) status = measure_fma(&r, "peak.fma_f16", &out->fma_f16_gflops);
    vkl_buffer_destroy(device, &r.a);
    vkl_buffer_destroy(device, &r.b);
    if (status == VKL_OK) status = measure_submit(device, &out->submit_us);
    if (status == VKL_OK && info->type == VK_PHYSICAL_DEVICE_TYPE_CPU) out->cpu_read_gbps = cpu_read_gbps();
    return status;
}

vkl_status vkl_peaks_get(vkl_device *device, bool use_cache, vkl_peaks *out)
{
    memset(out, 0, sizeof *out);
    char path[1200];
    bool cacheable = use_cache && cache_file(device, path, sizeof path);
    if (cacheable && read_cache(path, out)) {
        out->from_cache = true;
        return VKL_OK;
    }
    VKL_TRY(measure(device, out));
    if (cacheable) write_cache(path, out);
    return VKL_OK;
}

double vkl_peaks_min_us(const vkl_peaks *p, double flops, double bytes)
{
    double compute = p->fma_f32_gflops > 0 ? flops / p->fma_f32_gflops / 1000.0 : 0.0;
    double memory = p->read_gbps > 0 ? bytes / p->read_gbps / 1000.0 : 0.0;
    return compute > memory ? compute : memory;
}
