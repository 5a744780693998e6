// The device's measured peaks, with vkllm's own kernels (shaders/peak.comp): memory read (through
// storage buffers and through texel buffers; the roofline uses the better) and
// copy bandwidth, f32 and f16 FMA throughput, and the fixed costs that bound small models (an
// empty dispatch, a submit-to-fence round trip). On CPU devices also the host's plain-C read
// bandwidth, since the device's memory is the machine's DRAM. Cached per device and driver.
#ifndef VKLLM_PEAKS_H
#define VKLLM_PEAKS_H

#include <stdbool.h>

#include "runtime/context.h"

typedef struct vkl_peaks {
    double read_gbps;               // the better of the two read paths below
    double read_storage_gbps;       // through storage buffers
    double read_texel_gbps;         // through RGBA32UI storage texel buffers; 0 without them
    double copy_gbps;               // bytes read + written
    double fma_f32_gflops;
    double fma_f16_gflops;          // 0 without shaderFloat16
    double dispatch_us;             // GPU time of one empty dispatch after a barrier
    double submit_us;               // host time: submit an empty command buffer, wait its fence
    double cpu_read_gbps;           // CPU devices: plain C on every core; else 0
    bool from_cache;
} vkl_peaks;

// Measures the peaks, or reads them from the cache next to the pipeline cache when `use_cache`
// (and writes them there after measuring), per device, driver and vkl_peaks_cpu_threads.
vkl_status vkl_peaks_get(vkl_device *device, bool use_cache, vkl_peaks *out);
// On a CPU device, the LP_NUM_THREADS it runs under (llvmpipe's worker threads); else NULL.
const char *vkl_peaks_cpu_threads(const vkl_device *device);
// The roofline bound for a kernel of `flops` and `bytes`: the larger of the two times at peak.
double vkl_peaks_min_us(const vkl_peaks *p, double flops, double bytes);

#endif
