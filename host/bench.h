// Kernel benchmarks (`vkllm bench`): the checker's kernel table timed with GPU timestamps over
// shape suites of real models.
#ifndef VKLLM_BENCH_H
#define VKLLM_BENCH_H

#include "host/check.h"
#include "host/peaks.h"

typedef struct vkl_bench_case {
    vkl_case c;
    char suite[48];  // the first suite that runs this case, e.g. "llama2-7b decode ctx 4096"
} vkl_bench_case;

// The cases of the model suites (the mkmodel presets of host/model_presets.h: stories260K,
// TinyLlama-1.1B, Llama-2-7B, Llama-3-8B, Mixtral-8x7B; and stories260K as 8 experts top-2; decode M = 1 and prefill M = 512; contexts 512, 4096,
// 8192), deduplicated, in suite order; quick: the stories260K ones and Llama-2-7B, decode at
// context 512. Every kernel variant
// without suite shapes (and no fault variant) contributes its check shapes instead.
void vkl_bench_suites(const vkl_case_filter *filter, vkl_bench_case **out);

typedef struct vkl_bench_result {
    vkl_case_status status;   // PASS: timed; SKIP: see detail
    double us_median, us_min, us_max;
    uint32_t runs, sets;      // timed runs; input sets rotated between runs
    char detail[160];
} vkl_bench_result;

typedef struct vkl_bench_options {
    double max_case_seconds;  // skip a case whose roofline estimate exceeds this (0: no limit)
    double target_seconds;    // timed runs per case add up to about this
    uint64_t seed;
} vkl_bench_options;

typedef struct vkl_bencher vkl_bencher;

vkl_status vkl_bencher_create(vkl_device *device, const vkl_peaks *peaks, const vkl_bench_options *options,
                              vkl_bencher **out);
void vkl_bencher_destroy(vkl_bencher *b);
// Times one case: random inputs (never zeros) in several buffer sets when one set would fit
// in a cache, a warm-up run, then timed runs of the kernel's dispatches, each between
// timestamps. Fails only when the runtime fails.
vkl_status vkl_bencher_run(vkl_bencher *b, const vkl_case *c, vkl_bench_result *result);

#endif
