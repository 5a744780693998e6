// vkllm check: every registered kernel variant against its CPU reference.
#include <math.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/check.h"
#include "host/clock.h"
#include "host/json.h"
#include "tools/cli.h"
#include "tools/commands.h"

typedef struct check_options {
    cli_common common;
    vkl_case_filter filter;
    const char **patterns;  // stb_ds array
    const char **excludes;  // stb_ds array
    uint64_t seed;
    bool seed_given;
    bool list;
    const char *json_path;
} check_options;

static const char USAGE[] =
    "usage: vkllm check [--quick] [--filter PATTERN]... [--exclude PATTERN]... [--seed S] [--json PATH]\n"
    "                   [--list] [--faults] [--device N] [--vulkan-validation]\n"
    "Runs every kernel variant on the device over a sweep of shapes and compares each output\n"
    "with the CPU reference against the kernel's documented error bound.\n"
    "  --quick           a representative subset (about a minute on lavapipe, 14 s once compiled)\n"
    "  --filter PATTERN  only cases whose name matches the glob PATTERN; a kernel or\n"
    "                    kernel/variant name selects all of its cases; repeatable\n"
    "  --exclude PATTERN leave out the cases PATTERN selects (as for --filter); repeatable\n"
    "  --seed S          input seed (default: from the clock; printed either way)\n"
    "  --json PATH       also write the results as JSON ('-' for stdout; the table then goes\n"
    "                    to stderr)\n"
    "  --list            print the selected case names and exit\n"
    "  --faults          also run the deliberately broken test-only variants (they must fail)\n"
    "Exit status: 0 all passed, 1 a case failed or validation reported, 2 bad usage.\n";

static int parse_args(int argc, char **argv, check_options *o)
{
    for (int i = 1; i < argc; i++) {
        int used = cli_common_parse(&o->common, argc, argv, &i);
        if (used < 0) return CLI_EXIT_USAGE;
        if (used) continue;
        const char *arg = argv[i], *value;
        if (!strcmp(arg, "--help")) { fputs(USAGE, stdout); return -1; }
        else if (!strcmp(arg, "--quick")) o->filter.quick = true;
        else if (!strcmp(arg, "--faults")) o->filter.faults = true;
        else if (!strcmp(arg, "--list")) o->list = true;
        else if (!strcmp(arg, "--filter")) {
            if (!(value = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
            arrput(o->patterns, value);
        } else if (!strcmp(arg, "--exclude")) {
            if (!(value = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
            arrput(o->excludes, value);
        } else if (!strcmp(arg, "--seed")) {
            if (!(value = cli_option_value(argc, argv, &i)) || !cli_parse_u64("--seed", value, UINT64_MAX, &o->seed))
                return CLI_EXIT_USAGE;
            o->seed_given = true;
        } else if (!strcmp(arg, "--json")) {
            if (!(o->json_path = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        } else {
            fprintf(stderr, "vkllm: error: check: unknown option '%s' (see `vkllm check --help`)\n", arg);
            return CLI_EXIT_USAGE;
        }
    }
    o->filter.patterns = o->patterns;
    o->filter.pattern_count = (uint32_t)arrlen(o->patterns);
    o->filter.excludes = o->excludes;
    o->filter.exclude_count = (uint32_t)arrlen(o->excludes);
    return CLI_EXIT_OK;
}

// True when each of `patterns` (an stb_ds array) selects one of `cases`; else says which not.
static bool all_match(const char *const *patterns, const char *option, const vkl_case *cases, bool quick)
{
    bool ok = true;
    for (ptrdiff_t p = 0; p < arrlen(patterns); p++) {
        bool used = false;
        for (ptrdiff_t c = 0; c < arrlen(cases) && !used; c++) used = vkl_case_matches(patterns[p], cases[c].name);
        if (!used) {
            fprintf(stderr, "vkllm: error: %s '%s' matches no case (see `vkllm check --list%s`)\n", option,
                    patterns[p], quick ? " --quick" : "");
            ok = false;
        }
    }
    return ok;
}

// Every pattern must select something, among the cases before exclusion: a typo must not turn
// into an empty, passing run, nor into an exclusion that leaves everything in.
static bool patterns_all_used(const check_options *o)
{
    vkl_case_filter unexcluded = o->filter;
    unexcluded.exclude_count = 0;
    vkl_case *cases = NULL;
    vkl_cases_select(&unexcluded, &cases);
    bool filters = all_match(o->patterns, "--filter", cases, o->filter.quick);
    bool excludes = all_match(o->excludes, "--exclude", cases, o->filter.quick);
    arrfree(cases);
    return filters && excludes;
}

static uint64_t clock_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec;
}

static const char *status_name(vkl_case_status s)
{
    return s == VKL_CASE_PASS ? "PASS" : s == VKL_CASE_FAIL ? "FAIL" : "SKIP";
}

static void print_row(FILE *out, const vkl_case *c, const vkl_case_result *r)
{
    fprintf(out, "%-11s %-16s %-24s %9.2e %9.2e %5.3f %10.1f  %s  --filter %s", c->kernel->name,
            c->kernel->variants[c->variant].name, vkl_case_shape(c), r->max_err, r->bound, r->ratio, r->gpu_us,
            status_name(r->status), c->name);
    if (r->detail[0]) fprintf(out, "  (%s)", r->detail);
    fputc('\n', out);
    fflush(out);
}

static void write_json(FILE *out, const vkl_device_info *info, uint64_t seed, const vkl_case *cases,
                       const vkl_case_result *results, size_t count)
{
    vkl_json j;
    vkl_json_init(&j, out);
    vkl_json_begin_object(&j, NULL);
    vkl_json_begin_object(&j, "device");
    vkl_json_string(&j, "name", info->name);
    vkl_json_string(&j, "vendor", info->vendor);
    vkl_json_string(&j, "driver", info->driver_name);
    vkl_json_string(&j, "driver_version", info->driver_version);
    vkl_json_string(&j, "driver_info", info->driver_info);
    vkl_json_string(&j, "type", vkl_device_type_name(info->type));
    vkl_json_uint(&j, "subgroup_size", info->subgroup_size);
    vkl_json_end_object(&j);
    vkl_json_uint(&j, "seed", seed);
    vkl_json_begin_array(&j, "cases");
    for (size_t i = 0; i < count; i++) {
        vkl_json_begin_object(&j, NULL);
        vkl_json_string(&j, "kernel", cases[i].kernel->name);
        vkl_json_string(&j, "variant", cases[i].kernel->variants[cases[i].variant].name);
        vkl_json_string(&j, "shape", vkl_case_shape(&cases[i]));
        vkl_json_string(&j, "case", cases[i].name);
        vkl_json_number(&j, "max_err", results[i].max_err);
        vkl_json_number(&j, "bound", results[i].bound);
        vkl_json_number(&j, "ratio", results[i].ratio);
        vkl_json_number(&j, "gpu_us", results[i].gpu_us);
        vkl_json_string(&j, "status", status_name(results[i].status));
        vkl_json_string(&j, "detail", results[i].detail);
        vkl_json_end_object(&j);
    }
    vkl_json_end_array(&j);
    vkl_json_end_object(&j);
}

static bool save_json(const check_options *o, const vkl_device_info *info, const vkl_case *cases,
                      const vkl_case_result *results, size_t count)
{
    if (!strcmp(o->json_path, "-")) {
        write_json(stdout, info, o->seed, cases, results, count);
        return true;
    }
    FILE *f = fopen(o->json_path, "w");
    if (!f) {
        fprintf(stderr, "vkllm: error: --json: cannot write '%s'\n", o->json_path);
        return false;
    }
    write_json(f, info, o->seed, cases, results, count);
    return fclose(f) == 0;
}

// Runs the cases; returns the process exit code.
static int run_cases(const check_options *o, vkl_device *device, const vkl_case *cases)
{
    FILE *table = o->json_path && !strcmp(o->json_path, "-") ? stderr : stdout;
    const vkl_device_info *info = device->info;
    fprintf(table, "vkllm check on device %u: %s (%s %s), subgroup size %u\n", info->index, info->name,
            info->driver_name, info->driver_version, info->subgroup_size);
    fprintf(table, "seed %llu (rerun: --seed %llu)\n", (unsigned long long)o->seed, (unsigned long long)o->seed);
    fprintf(table, "%-11s %-16s %-24s %9s %9s %5s %10s  %s\n", "kernel", "variant", "shape", "max_err", "bound",
            "ratio", "gpu_us", "status / case");
    vkl_checker *checker;
    if (vkl_checker_create(device, &checker) != VKL_OK) return CLI_EXIT_FAIL;
    size_t count = (size_t)arrlen(cases), counts[3] = { 0 };
    vkl_case_result *results = calloc(count ? count : 1, sizeof *results);
    double start = vkl_seconds_now();
    int code = results ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    for (size_t i = 0; i < count && code == CLI_EXIT_OK; i++) {
        vkl_status status = vkl_checker_run(checker, &cases[i], o->seed, &results[i]);
        if (status != VKL_OK) {
            fprintf(stderr, "vkllm: error: %s: %s\n", cases[i].name, vkl_status_string(status));
            code = CLI_EXIT_FAIL;
            break;
        }
        counts[results[i].status]++;
        print_row(table, &cases[i], &results[i]);
    }
    vkl_checker_destroy(checker);
    fprintf(table, "%zu passed, %zu failed, %zu skipped in %.1f s (seed %llu)\n", counts[VKL_CASE_PASS],
            counts[VKL_CASE_FAIL], counts[VKL_CASE_SKIP], vkl_seconds_now() - start, (unsigned long long)o->seed);
    if (code == CLI_EXIT_OK && o->json_path && !save_json(o, info, cases, results, count)) code = CLI_EXIT_FAIL;
    if (counts[VKL_CASE_FAIL]) code = CLI_EXIT_FAIL;
    free(results);
    return code;
}

int cmd_check(int argc, char **argv)
{
    check_options o = { 0 };
    if (!cli_common_init(&o.common)) return CLI_EXIT_USAGE;
    int code = parse_args(argc, argv, &o);
    vkl_case *cases = NULL;
    if (code == CLI_EXIT_OK) {
        if (!patterns_all_used(&o)) code = CLI_EXIT_USAGE;
        else vkl_cases_select(&o.filter, &cases);
        if (code == CLI_EXIT_OK && arrlen(cases) == 0) {
            fprintf(stderr, "vkllm: error: --exclude leaves no case to run\n");
            code = CLI_EXIT_USAGE;
        }
    }
    if (code == CLI_EXIT_OK && o.list) {
        for (ptrdiff_t i = 0; i < arrlen(cases); i++) printf("%s\n", cases[i].name);
    } else if (code == CLI_EXIT_OK) {
        if (!o.seed_given) o.seed = clock_seed();
        cli_session session;
        if (cli_session_open(&o.common, true, &session)) code = run_cases(&o, session.device, cases);
        else code = CLI_EXIT_FAIL;
        code = cli_session_close(&session, code);
    }
    arrfree(cases);
    arrfree(o.patterns);
    arrfree(o.excludes);
    return code < 0 ? CLI_EXIT_OK : code;
}
