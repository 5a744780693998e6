// The table-driven checker: runs kernel cases on the device and judges them against the CPU
// reference. Guard regions around every buffer and poisoned outputs catch out-of-bounds and
// missing writes; non-finite values are caught before errors are measured.
#ifndef VKLLM_CHECK_H
#define VKLLM_CHECK_H

#include "host/kernel.h"
#include "runtime/command.h"

typedef enum vkl_case_status { VKL_CASE_PASS, VKL_CASE_FAIL, VKL_CASE_SKIP } vkl_case_status;

typedef struct vkl_case_result {
    vkl_case_status status;
    double max_err;    // |gpu - reference| at the worst element (largest error / bound)
    double bound;      // the bound at that element
    double ratio;      // max over elements of error / bound; <= 1 passes
    double gpu_us;     // one dispatch, from timestamps; NaN when unavailable
    char detail[200];  // why it failed or was skipped
} vkl_case_result;

// Selection of cases. Zero means default everywhere.
typedef struct vkl_case_filter {
    bool quick;                 // the representative subset
    bool faults;                // include test-only broken variants
    const char *const *patterns;// fnmatch patterns; a case is selected if any matches its name,
    uint32_t pattern_count;     //   or its name's prefix up to a '/' (so "matmul" selects all matmul)
    const char *const *excludes;// patterns as above whose cases are left out, whichever select them
    uint32_t exclude_count;
} vkl_case_filter;

// Appends the selected cases of every registered kernel to the stb_ds array *cases.
void vkl_cases_select(const vkl_case_filter *filter, vkl_case **cases);
// True when the filter's patterns select the case named `name` (all when it has none) and no
// exclude pattern matches it.
bool vkl_case_selected(const vkl_case_filter *filter, const char *name);
// True when `pattern` selects the case named `name` (see vkl_case_filter).
bool vkl_case_matches(const char *pattern, const char *name);

// Draws input tensor t of case c (the kernel's fill(), else uniform in [lo, hi]) into values
// (count floats, rounded as stored) and data (its device bytes).
void vkl_tensor_fill(const vkl_case *c, uint32_t t, const vkl_tensor_desc *d, vkl_rng *rng, float *values,
                     uint8_t *data);

// The most bytes tensor t of case c may span in one binding on this device: the texel-buffer
// limit for tensors its variant reads through texels, else maxStorageBufferRange.
uint64_t vkl_tensor_binding_limit(const vkl_device_info *info, const vkl_case *c, uint32_t t);

typedef struct vkl_checker vkl_checker;

vkl_status vkl_checker_create(vkl_device *device, vkl_checker **out);
void vkl_checker_destroy(vkl_checker *checker);
// Runs one case with inputs drawn from `seed` (mixed with the case name, so a case gives the
// same inputs alone or in a sweep). Returns an error only when the runtime fails; a wrong
// result is a VKL_CASE_FAIL in *result.
vkl_status vkl_checker_run(vkl_checker *checker, const vkl_case *c, uint64_t seed, vkl_case_result *result);
// Runs one case on the caller's buffers (`vkllm run --validate`): the inputs are what the bound
// buffers hold, and the outputs are judged against the reference computed from those inputs
// before the dispatch. No guards or poison: the buffers are the model's own.
vkl_status vkl_checker_run_live(vkl_checker *checker, const vkl_case *c, const vkl_binding *tensors,
                                vkl_case_result *result);

#endif
