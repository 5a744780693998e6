// On-disk pipeline cache: $XDG_CACHE_HOME/vkllm (or ~/.cache/vkllm), one file per device and
// driver. The file wraps the driver's cache data in a checksummed envelope; a file that is
// short, corrupt or for another device is ignored with a warning and never given to the driver.
#ifndef VKLLM_PIPELINE_CACHE_H
#define VKLLM_PIPELINE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/context.h"

#define VKL_PIPELINE_CACHE_MAX_BYTES (256u << 20)

// Creates device->pipeline_cache, seeded from disk when `persist` and a valid file exists.
vkl_status vkl_pipeline_cache_open(vkl_device *device, bool persist);
// Writes the cache back to disk (when persisted) and destroys it.
void vkl_pipeline_cache_close(vkl_device *device);

// Checks a cache file's bytes for `info`. On success returns the driver payload and its size;
// on failure returns NULL and sets *why to the reason.
const uint8_t *vkl_pipeline_cache_check(const uint8_t *file, size_t file_size,
                                        const vkl_device_info *info, size_t *payload_size,
                                        const char **why);
// Wraps a driver payload in the envelope that vkl_pipeline_cache_check accepts. The caller
// frees the result.
uint8_t *vkl_pipeline_cache_wrap(const uint8_t *payload, size_t payload_size, size_t *file_size);

#endif
