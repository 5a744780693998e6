// vkllm bench: every registered kernel timed over shape suites of real models, against the
// device's measured roofline; or a model end to end (-m) in llama-bench's terms.
#include <math.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/bench.h"
#include "host/clock.h"
#include "host/json.h"
#include "tools/bench_model.h"
#include "tools/cli.h"
#include "tools/commands.h"

typedef enum { FORMAT_MD, FORMAT_CSV, FORMAT_JSON } bench_format;

typedef struct bench_cli {
    cli_common common;
    vkl_case_filter filter;
    const char **patterns;  // stb_ds array
    const char **excludes;  // stb_ds array
    bench_format format;
    const char *plot;
    bool peaks_only;
    double time_limit;  // --time-limit: seconds after which no case starts (0: none)
    vkl_bench_options options;
    bench_model_options model;
} bench_cli;

static const char USAGE[] =
    "usage: vkllm bench [--quick] [--filter PATTERN]... [--exclude PATTERN]... [--format md|csv|json]\n"
    "                   [--plot FILE.png] [--max-seconds S] [--time-limit S] [--seed S] [--peaks] [--device N]\n"
    "       vkllm bench -m MODEL [-p 512] [-n 128] [-r 5] [--profile] [--device N]\n"
    "Times every kernel over shape suites of real models (stories260K, TinyLlama-1.1B, Llama-2-7B,\n"
    "Llama-3-8B, Mixtral-8x7B; decode M=1 and prefill M=512; contexts 512, 4096, 8192) with GPU\n"
    "timestamps: a warm-up, then repeated runs (median, min, max) rotating input sets when one\n"
    "would fit in a cache. Each case shows GFLOP/s, GB/s of required traffic and the percent of\n"
    "the roofline bound (measured peaks) that it reaches.\n"
    "  --quick           stories260K (dense and 8 experts) and Llama-2-7B decode shapes only\n"
    "  --filter PATTERN  as for `vkllm check` (glob over case names; repeatable)\n"
    "  --exclude PATTERN leave out the cases PATTERN selects (e.g. '*texel*'); repeatable\n"
    "  --format F        md (default), csv or json (json: device, peaks, cases)\n"
    "  --plot FILE.png   a roofline chart of the run (needs gnuplot)\n"
    "  --max-seconds S   skip cases whose runs would take over S seconds at the roofline (default 5)\n"
    "  --time-limit S    start no case after S seconds: the rest are reported as skipped (a report\n"
    "                    that ends within a time box, e.g. on a lent machine)\n"
    "  --peaks           only measure and print the device's peaks (cached per device and driver;\n"
    "                    --no-pipeline-cache measures afresh)\n"
    "  -m MODEL          end to end: prefill of -p tokens (pp) and decode of -n tokens (tg), -r times,\n"
    "                    tokens/s mean and spread, GPU and host time per decoded token\n"
    "  --profile         with -m: also time each dispatch of a decode step on its own (at the last\n"
    "                    position), summed over the layers, to show where a token's time goes\n"
    "With -m, a CPU device (llvmpipe) runs a model with at most 1 MiB of decode weights per layer\n"
    "on one thread (LP_NUM_THREADS=0) unless LP_NUM_THREADS is set; peaks are cached per value.\n";

static int parse_format(const char *v, bench_format *f)
{
    if (!strcmp(v, "md")) *f = FORMAT_MD;
    else if (!strcmp(v, "csv")) *f = FORMAT_CSV;
    else if (!strcmp(v, "json")) *f = FORMAT_JSON;
    else {
        fprintf(stderr, "vkllm: error: --format: '%s' is not md, csv or json\n", v);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int parse_value(bench_cli *o, const char *a, const char *v)
{
    uint64_t u;
    if (!strcmp(a, "--filter")) arrput(o->patterns, v);
    else if (!strcmp(a, "--exclude")) arrput(o->excludes, v);
    else if (!strcmp(a, "--format")) return parse_format(v, &o->format);
    else if (!strcmp(a, "--plot")) o->plot = v;
    else if (!strcmp(a, "-m")) o->model.path = v;
    else if (!strcmp(a, "--seed")) { if (!cli_parse_u64(a, v, UINT64_MAX, &o->options.seed)) return CLI_EXIT_USAGE; }
    else if (!strcmp(a, "--max-seconds")) {
        if (!cli_parse_u64(a, v, 86400, &u)) return CLI_EXIT_USAGE;
        o->options.max_case_seconds = (double)u;
    } else if (!strcmp(a, "--time-limit")) {
        if (!cli_parse_u64(a, v, 86400, &u)) return CLI_EXIT_USAGE;
        o->time_limit = (double)u;
    } else if (!strcmp(a, "-p") || !strcmp(a, "-n") || !strcmp(a, "-r")) {
        if (!cli_parse_u64(a, v, a[1] == 'r' ? 1000 : 1u << 20, &u)) return CLI_EXIT_USAGE;
        *(a[1] == 'p' ? &o->model.prompt : a[1] == 'n' ? &o->model.generate : &o->model.repeats) = (uint32_t)u;
    } else {
        fprintf(stderr, "vkllm: error: bench: unknown option '%s' (see `vkllm bench --help`)\n", a);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int parse_args(int argc, char **argv, bench_cli *o)
{
    o->options = (vkl_bench_options){ .max_case_seconds = 5.0, .target_seconds = 0.25, .seed = 1 };
    o->model = (bench_model_options){ .prompt = 512, .generate = 128, .repeats = 5 };
    if (!cli_common_init(&o->common)) return CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        int used = cli_common_parse(&o->common, argc, argv, &i);
        if (used < 0) return CLI_EXIT_USAGE;
        if (used) continue;
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return -1; }
        if (!strcmp(a, "--quick")) { o->filter.quick = true; o->options.target_seconds = 0.05; continue; }
        if (!strcmp(a, "--peaks")) { o->peaks_only = true; continue; }
        if (!strcmp(a, "--profile")) { o->model.profile = true; continue; }
        if (!(v = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        int code = parse_value(o, a, v);
        if (code) return code;
    }
    o->filter.patterns = o->patterns;
    o->filter.pattern_count = (uint32_t)arrlen(o->patterns);
    o->filter.excludes = o->excludes;
    o->filter.exclude_count = (uint32_t)arrlen(o->excludes);
    return CLI_EXIT_OK;
}

// ---------------------------------------------------------------- output

typedef struct bench_row {
    const vkl_bench_case *bc;
    vkl_bench_result r;
    double gflops, gbps, pct;
} bench_row;

static void print_peaks(FILE *out, const vkl_device *device, const vkl_peaks *p)
{
    const vkl_device_info *info = device->info;
    const char *threads = vkl_peaks_cpu_threads(device);
    fprintf(out, "peaks of %s (%s %s)%s%s%s:\n", info->name, info->driver_name, info->driver_version,
            threads ? ", LP_NUM_THREADS=" : "", threads ? threads : "", p->from_cache ? ", cached" : ", measured");
    fprintf(out, "  memory read %.1f GB/s (storage buffers %.1f", p->read_gbps, p->read_storage_gbps);
    if (p->read_texel_gbps > 0) fprintf(out, ", texel buffers %.1f", p->read_texel_gbps);
    fprintf(out, "), copy %.1f GB/s (read + write)\n", p->copy_gbps);
    if (p->fma_f16_gflops > 0)
        fprintf(out, "  FMA f32 %.1f GFLOP/s, f16 %.1f GFLOP/s\n", p->fma_f32_gflops, p->fma_f16_gflops);
    else fprintf(out, "  FMA f32 %.1f GFLOP/s, f16 n/a (no shaderFloat16)\n", p->fma_f32_gflops);
    fprintf(out, "  empty dispatch %.2f us (GPU), submit to fence %.1f us (host)\n", p->dispatch_us, p->submit_us);
    if (p->cpu_read_gbps > 0) fprintf(out, "  host DRAM read, plain C on every core: %.1f GB/s\n", p->cpu_read_gbps);
}

static void write_json(FILE *out, const vkl_device_info *info, const vkl_peaks *p, const bench_row *rows, ptrdiff_t n)
{
    vkl_json j;
    vkl_json_init(&j, out);
    vkl_json_begin_object(&j, NULL);
    vkl_json_begin_object(&j, "device");
    vkl_json_string(&j, "name", info->name);
    vkl_json_string(&j, "driver", info->driver_name);
    vkl_json_string(&j, "driver_version", info->driver_version);
    vkl_json_uint(&j, "subgroup_size", info->subgroup_size);
    vkl_json_end_object(&j);
    vkl_json_begin_object(&j, "peaks");
    vkl_json_number(&j, "read_gbps", p->read_gbps);
    vkl_json_number(&j, "read_storage_gbps", p->read_storage_gbps);
    vkl_json_number(&j, "read_texel_gbps", p->read_texel_gbps);
    vkl_json_number(&j, "copy_gbps", p->copy_gbps);
    vkl_json_number(&j, "fma_f32_gflops", p->fma_f32_gflops);
    vkl_json_number(&j, "fma_f16_gflops", p->fma_f16_gflops);
    vkl_json_number(&j, "dispatch_us", p->dispatch_us);
    vkl_json_number(&j, "submit_us", p->submit_us);
    vkl_json_number(&j, "cpu_read_gbps", p->cpu_read_gbps);
    vkl_json_end_object(&j);
    vkl_json_begin_array(&j, "cases");
    for (ptrdiff_t i = 0; i < n; i++) {
        const vkl_case *c = &rows[i].bc->c;
        vkl_json_begin_object(&j, NULL);
        vkl_json_string(&j, "kernel", c->kernel->name);
        vkl_json_string(&j, "variant", c->kernel->variants[c->variant].name);
        vkl_json_string(&j, "shape", vkl_case_shape(c));
        vkl_json_string(&j, "suite", rows[i].bc->suite);
        vkl_json_string(&j, "status", rows[i].r.status == VKL_CASE_PASS ? "timed" : "skipped");
        vkl_json_number(&j, "us_median", rows[i].r.status == VKL_CASE_PASS ? rows[i].r.us_median : NAN);
        vkl_json_number(&j, "us_min", rows[i].r.status == VKL_CASE_PASS ? rows[i].r.us_min : NAN);
        vkl_json_number(&j, "us_max", rows[i].r.status == VKL_CASE_PASS ? rows[i].r.us_max : NAN);
        vkl_json_uint(&j, "runs", rows[i].r.runs);
        vkl_json_number(&j, "flops", c->kernel->flops(c));
        vkl_json_number(&j, "bytes", c->kernel->bytes(c));
        vkl_json_number(&j, "gflops", rows[i].gflops);
        vkl_json_number(&j, "gbps", rows[i].gbps);
        vkl_json_number(&j, "pct_peak", rows[i].pct);
        vkl_json_string(&j, "detail", rows[i].r.detail);
        vkl_json_end_object(&j);
    }
    vkl_json_end_array(&j);
    vkl_json_end_object(&j);
    fputc('\n', out);
}

static void print_row(FILE *out, bench_format f, const bench_row *row)
{
    const vkl_case *c = &row->bc->c;
    const vkl_bench_result *r = &row->r;
    const char *variant = c->kernel->variants[c->variant].name;
    if (f == FORMAT_CSV) {
        fprintf(out, "%s,%s,\"%s\",\"%s\",%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.2f\n", c->kernel->name, variant, vkl_case_shape(c),
                row->bc->suite, r->status == VKL_CASE_PASS ? "timed" : "skipped", r->us_median, r->us_min, r->us_max,
                row->gflops, row->gbps, row->pct);
    } else if (r->status != VKL_CASE_PASS) {
        fprintf(out, "| %s | %s | %s | %s | skipped: %s | | | | |\n", c->kernel->name, variant, vkl_case_shape(c),
                row->bc->suite, r->detail);
    } else {
        fprintf(out, "| %s | %s | %s | %s | %.2f (%.2f–%.2f) | %.1f | %.1f | %.1f | %u×%u |\n", c->kernel->name, variant,
                vkl_case_shape(c), row->bc->suite, r->us_median, r->us_min, r->us_max, row->gflops, row->gbps, row->pct,
                r->runs, r->sets);
    }
}

static void print_header(FILE *out, bench_format f)
{
    if (f == FORMAT_CSV) {
        fprintf(out, "kernel,variant,shape,suite,status,us_median,us_min,us_max,gflops,gbps,pct_peak\n");
        return;
    }
    fprintf(out, "| kernel | variant | shape | suite | µs median (min–max) | GFLOP/s | GB/s | %% of roofline | runs×sets |\n");
    fprintf(out, "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
}

// Writes the timed cases as one gnuplot data block per kernel (in registry order) and their
// names, space-separated, into `names`; returns the number of blocks.
static int write_plot_data(FILE *f, const bench_row *rows, ptrdiff_t n, char *names, size_t size)
{
    int blocks = 0;
    names[0] = '\0';
    for (uint32_t k = 0; k < vkl_kernel_count; k++) {
        bool any = false;
        for (ptrdiff_t i = 0; i < n; i++) {
            const vkl_case *c = &rows[i].bc->c;
            if (c->kernel != vkl_kernels[k] || rows[i].r.status != VKL_CASE_PASS || rows[i].gflops <= 0) continue;
            fprintf(f, "%g %g\n", c->kernel->flops(c) / c->kernel->bytes(c), rows[i].gflops);
            any = true;
        }
        if (!any) continue;
        fprintf(f, "\n\n");  // gnuplot: next data block
        size_t used = strlen(names);
        snprintf(names + used, size - used, "%s%s", blocks ? " " : "", vkl_kernels[k]->name);
        blocks++;
    }
    return blocks;
}

// A log-log roofline chart: the measured memory and f32 FMA roofs and every timed case with
// FLOPs, coloured by kernel (copies such as embedding and KV append have no place on it).
static int plot(const char *path, const vkl_device_info *info, const vkl_peaks *p, const bench_row *rows, ptrdiff_t n)
{
    char data[] = "/tmp/vkllm-roofline-XXXXXX";
    int fd = mkstemp(data);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) return CLI_EXIT_FAIL;
    char names[1024];
    int blocks = write_plot_data(f, rows, n, names, sizeof names);
    fclose(f);
    if (blocks == 0) {
        fprintf(stderr, "vkllm: error: --plot: no timed case to plot\n");
        remove(data);
        return CLI_EXIT_FAIL;
    }
    FILE *g = popen("gnuplot", "w");
    if (!g) {
        fprintf(stderr, "vkllm: error: --plot needs gnuplot (Debian: gnuplot-nox)\n");
        remove(data);
        return CLI_EXIT_FAIL;
    }
    fprintf(g, "set terminal pngcairo size 1200,700 noenhanced\nset output '%s'\nset logscale xy\n", path);
    fprintf(g, "set title 'vkllm bench on %s: roofline from measured peaks'\n", info->name);
    fprintf(g, "set xlabel 'arithmetic intensity (FLOP/byte)'\nset ylabel 'GFLOP/s'\nset key outside right top noenhanced\n");
    fprintf(g, "set format xy '%%g'\nset grid\nset xrange [0.01:1000]\nroof(x) = (x * %g < %g) ? x * %g : %g\n", p->read_gbps, p->fma_f32_gflops,
            p->read_gbps, p->fma_f32_gflops);
    fprintf(g, "names = '%s'\n", names);
    fprintf(g, "plot roof(x) title 'roofline (read %.1f GB/s, f32 FMA %.0f GFLOP/s)' lw 2 lc 'black', "
               "for [i=1:%d] '%s' index i-1 using 1:2 with points pt (i <= 8 ? 7 : 5) lc (i - 1) %% 8 + 1 ps 1.3 title word(names, i)\n",
            p->read_gbps, p->fma_f32_gflops, blocks, data);
    int code = pclose(g);
    remove(data);
    if (code != 0) {
        fprintf(stderr, "vkllm: error: --plot: gnuplot failed (exit %d); is gnuplot installed?\n", code);
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, "vkllm: roofline chart written to %s\n", path);
    return CLI_EXIT_OK;
}

// ---------------------------------------------------------------- kernels

static int bench_kernels(const bench_cli *o, vkl_device *device, const vkl_peaks *peaks)
{
    vkl_bench_case *cases = NULL;
    vkl_bench_suites(&o->filter, &cases);
    if (arrlen(cases) == 0) {
        fprintf(stderr, "vkllm: error: no benchmark case matches the filter\n");
        arrfree(cases);
        return CLI_EXIT_USAGE;
    }
    vkl_bencher *b;
    if (vkl_bencher_create(device, peaks, &o->options, &b) != VKL_OK) return CLI_EXIT_FAIL;
    FILE *out = stdout;
    if (o->format != FORMAT_JSON) print_header(out, o->format);
    bench_row *rows = calloc((size_t)arrlen(cases), sizeof *rows);
    int code = rows ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    double start = vkl_seconds_now();
    for (ptrdiff_t i = 0; i < arrlen(cases) && code == CLI_EXIT_OK; i++) {
        bench_row *row = &rows[i];
        row->bc = &cases[i];
        if (o->time_limit > 0 && vkl_seconds_now() - start >= o->time_limit) {
            row->r = (vkl_bench_result){ .status = VKL_CASE_SKIP };
            snprintf(row->r.detail, sizeof row->r.detail, "not started: --time-limit %.0f s reached", o->time_limit);
        } else if (vkl_bencher_run(b, &cases[i].c, &row->r) != VKL_OK) {
            fprintf(stderr, "vkllm: error: %s: the benchmark failed\n", cases[i].c.name);
            code = CLI_EXIT_FAIL;
            break;
        }
        if (row->r.status == VKL_CASE_PASS) {
            const vkl_case *c = &cases[i].c;
            double flops = c->kernel->flops(c), bytes = c->kernel->bytes(c), us = row->r.us_median;
            row->gflops = flops / us / 1000.0;
            row->gbps = bytes / us / 1000.0;
            row->pct = 100.0 * vkl_peaks_min_us(peaks, flops, bytes) / us;
        }
        if (o->format != FORMAT_JSON) {
            print_row(out, o->format, row);
            fflush(out);
        }
    }
    if (code == CLI_EXIT_OK && o->format == FORMAT_JSON) write_json(out, device->info, peaks, rows, arrlen(cases));
    if (code == CLI_EXIT_OK && o->plot) code = plot(o->plot, device->info, peaks, rows, arrlen(cases));
    free(rows);
    vkl_bencher_destroy(b);
    arrfree(cases);
    return code;
}

// The session, peaks and the run for parsed options; `model` is loaded for -m, else NULL.
static int bench_session(bench_cli *o, const vkl_model *model)
{
    if (model) o->common.cpu_inline_dispatch = vkl_model_prefers_inline_dispatch(model);
    cli_session session;
    if (!cli_session_open(&o->common, true, &session)) return cli_session_close(&session, CLI_EXIT_FAIL);
    vkl_peaks peaks;
    // Device lines go to stderr when JSON goes to stdout, so stdout stays one JSON document.
    FILE *info = o->format == FORMAT_JSON ? stderr : stdout;
    int code = CLI_EXIT_OK;
    if (vkl_peaks_get(session.device, !o->common.no_pipeline_cache, &peaks) != VKL_OK) code = CLI_EXIT_FAIL;
    else {
        print_peaks(info, session.device, &peaks);
        if (model) code = bench_model(&o->model, model, session.device, &peaks);
        else if (!o->peaks_only) code = bench_kernels(o, session.device, &peaks);
    }
    return cli_session_close(&session, code);
}

int cmd_bench(int argc, char **argv)
{
    bench_cli o = { 0 };
    int code = parse_args(argc, argv, &o);
    if (code == 0) {
        // A model is loaded before the device opens: its size decides how a CPU device runs it.
        vkl_model model;
        if (!o.model.path) code = bench_session(&o, NULL);
        else if (vkl_model_load(o.model.path, &model) != VKL_OK) code = CLI_EXIT_FAIL;
        else {
            code = bench_session(&o, &model);
            vkl_model_free(&model);
        }
    } else if (code < 0) code = CLI_EXIT_OK;
    arrfree(o.patterns);
    arrfree(o.excludes);
    return code;
}
