#include "tools/bench_model.h"

#include <math.h>
#include <stb/stb_ds.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "host/clock.h"
#include "host/model.h"
#include "host/rng.h"
#include "host/scheduler.h"
#include "tools/cli.h"

typedef struct stats {
    double sum, sum_sq;
    uint32_t n;
} stats;

static void stats_add(stats *s, double v)
{
    s->sum += v;
    s->sum_sq += v * v;
    s->n++;
}
static double stats_mean(const stats *s) { return s->n ? s->sum / s->n : NAN; }
static double stats_sd(const stats *s)
{
    if (s->n < 2) return 0.0;
    double m = stats_mean(s);
    return sqrt(fmax(0.0, (s->sum_sq - s->n * m * m) / (s->n - 1)));
}

typedef struct model_run {
    stats pp, tg, gpu_us, host_us;  // tokens/s; per decoded token
} model_run;

// One repetition: the prompt as prefill batches from position 0, then `generate` single tokens.
static vkl_status repetition(const bench_model_options *o, vkl_scheduler *s, const uint32_t *tokens, float *logits,
                             model_run *r)
{
    double t = vkl_seconds_now();
    VKL_TRY(vkl_scheduler_prefill(s, tokens, o->prompt, 0, logits));
    stats_add(&r->pp, o->prompt / (vkl_seconds_now() - t));
    t = vkl_seconds_now();
    double gpu = 0.0;
    for (uint32_t i = 0; i < o->generate; i++) {
        VKL_TRY(vkl_scheduler_forward(s, tokens[o->prompt + i], o->prompt + i, logits));
        gpu += vkl_scheduler_gpu_us(s, false);
    }
    double wall = vkl_seconds_now() - t;
    stats_add(&r->tg, o->generate / wall);
    stats_add(&r->gpu_us, gpu / o->generate);
    stats_add(&r->host_us, (wall * 1e6 - gpu) / o->generate);
    return VKL_OK;
}

// Decode reads the weights (vkl_model_decode_weight_bytes) and the KV cache so far.
static double decode_bytes(const vkl_device_info *info, const vkl_model *m, uint32_t positions)
{
    vkl_scheduler_memory need = vkl_scheduler_memory_needed(info, m, positions);
    double kv_per_position = (double)need.kv_cache / positions;
    return vkl_model_decode_weight_bytes(m) + kv_per_position * positions / 2.0;  // mean cache length over the decode
}

static int report(const bench_model_options *o, const vkl_device_info *info, const vkl_model *m, const model_run *r,
                  const vkl_peaks *peaks)
{
    const char *name = m->path;
    printf("| model | test | tokens/s | ± sd |\n| --- | --- | ---: | ---: |\n");
    printf("| %s | pp%u | %.1f | %.1f |\n", name, o->prompt, stats_mean(&r->pp), stats_sd(&r->pp));
    printf("| %s | tg%u | %.1f | %.1f |\n", name, o->generate, stats_mean(&r->tg), stats_sd(&r->tg));
    double bytes = decode_bytes(info, m, o->prompt + o->generate), tg = stats_mean(&r->tg);
    double bound = peaks->read_gbps * 1e9 / bytes;
    printf("\ndecode: GPU %.1f us and host %.1f us per token (host = wall time outside the GPU's timestamps);\n",
           stats_mean(&r->gpu_us), stats_mean(&r->host_us));
    printf("%.1f MB of weights and KV cache per token: bandwidth bound %.1f tokens/s at the measured %.1f GB/s; "
           "reached %.1f %%\n", bytes / 1e6, bound, peaks->read_gbps, 100.0 * tg / bound);
    if (peaks->cpu_read_gbps > 0)
        printf("against the host's plain-C DRAM read of %.1f GB/s: %.1f %%\n", peaks->cpu_read_gbps,
               100.0 * tg * bytes / (peaks->cpu_read_gbps * 1e9));
    return CLI_EXIT_OK;
}

#define PROFILE_RUNS 21
#define WARMUP_GPU_S 2.0

// Each step's median summed over the layers, in the order steps first appear.
static void print_profile(const vkl_profile_row *rows)
{
    typedef struct { const char *step; uint32_t count; double us; } total;
    total *totals = NULL;
    double sum = 0.0;
    for (ptrdiff_t i = 0; i < arrlen(rows); i++) {
        ptrdiff_t t = 0;
        while (t < arrlen(totals) && strcmp(totals[t].step, rows[i].step) != 0) t++;
        if (t == arrlen(totals)) arrput(totals, ((total){ rows[i].step, 0, 0.0 }));
        totals[t].count++;
        totals[t].us += rows[i].us_median;
        sum += rows[i].us_median;
    }
    printf("\nprofile of one decode step, each dispatch timed on its own (median of %d runs), summed over layers:\n",
           PROFILE_RUNS);
    printf("| step | kernel/variant | times per token | µs per token | share |\n| --- | --- | ---: | ---: | ---: |\n");
    for (ptrdiff_t t = 0; t < arrlen(totals); t++) {
        const char *space = strchr(totals[t].step, ' ');
        int label = space ? (int)(space - totals[t].step) : (int)strlen(totals[t].step);
        printf("| %.*s | %s | %u | %.1f | %.1f %% |\n", label, totals[t].step, space ? space + 1 : "", totals[t].count,
               totals[t].us, 100.0 * totals[t].us / sum);
    }
    printf("| total | | %td | %.1f | |\n", arrlen(rows), sum);
    arrfree(totals);
}

static vkl_status profile(vkl_scheduler *s, const uint32_t *tokens, uint32_t positions)
{
    vkl_profile_row *rows = NULL;
    vkl_status status = vkl_scheduler_profile(s, tokens[positions - 1], positions - 1, PROFILE_RUNS, &rows);
    if (status == VKL_OK) print_profile(rows);
    else if (status == VKL_ERR_UNSUPPORTED) fprintf(stderr, "vkllm: note: --profile: the device has no timestamps\n");
    arrfree(rows);
    return status == VKL_ERR_UNSUPPORTED ? VKL_OK : status;
}

int bench_model(const bench_model_options *o, const vkl_model *model, vkl_device *device, const vkl_peaks *peaks)
{
    uint32_t positions = o->prompt + o->generate;
    int code = CLI_EXIT_OK;
    if (o->prompt == 0 || o->generate == 0 || o->repeats == 0 || positions > model->config.context) {
        fprintf(stderr, "vkllm: error: bench -m: -p %u + -n %u must be positive and within the model's context of %u "
                "(and -r >= 1)\n", o->prompt, o->generate, model->config.context);
        code = CLI_EXIT_USAGE;
    }
    uint32_t *tokens = malloc(positions * sizeof *tokens);
    float *logits = malloc((size_t)model->config.vocab_size * sizeof *logits);
    vkl_scheduler *s = NULL;
    if (code == CLI_EXIT_OK && (!tokens || !logits || vkl_scheduler_create(device, model, positions, &s) != VKL_OK ||
                                 vkl_scheduler_set_timing(s, true) != VKL_OK))
        code = CLI_EXIT_FAIL;
    vkl_rng rng;
    vkl_rng_seed(&rng, 42);  // random tokens, as llama-bench uses
    for (uint32_t i = 0; code == CLI_EXIT_OK && i < positions; i++)
        tokens[i] = (uint32_t)vkl_rng_uniform(&rng, 0.0f, (float)model->config.vocab_size - 1.0f);
    // Warm-up: one repetition, repeated on GPUs for WARMUP_GPU_S, since they raise their clocks
    // only after up to a second of load (see host/bench.c).
    model_run r = { 0 }, warm = { 0 };
    double warm_until = vkl_seconds_now() + (device->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 0.0 : WARMUP_GPU_S);
    do {
        if (code == CLI_EXIT_OK && repetition(o, s, tokens, logits, &warm) != VKL_OK) code = CLI_EXIT_FAIL;
    } while (code == CLI_EXIT_OK && vkl_seconds_now() < warm_until);
    for (uint32_t i = 0; code == CLI_EXIT_OK && i < o->repeats; i++)
        if (repetition(o, s, tokens, logits, &r) != VKL_OK) code = CLI_EXIT_FAIL;
    if (code == CLI_EXIT_OK) code = report(o, device->info, model, &r, peaks);
    if (code == CLI_EXIT_OK && o->profile && profile(s, tokens, positions) != VKL_OK) code = CLI_EXIT_FAIL;
    vkl_scheduler_destroy(s);
    free(tokens);
    free(logits);
    return code;
}
