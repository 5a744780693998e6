#include "runtime/pipeline_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = { 'V', 'K', 'L', 'L', 'M', 'P', 'C', '1' };
enum { ENVELOPE_BYTES = 24, DRIVER_HEADER_BYTES = 32 };

static uint64_t fnv1a64(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t read_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t read_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

const uint8_t *vkl_pipeline_cache_check(const uint8_t *file, size_t file_size,
                                        const vkl_device_info *info, size_t *payload_size,
                                        const char **why)
{
    if (file_size < ENVELOPE_BYTES + DRIVER_HEADER_BYTES) { *why = "file too short"; return NULL; }
    if (memcmp(file, MAGIC, sizeof MAGIC) != 0) { *why = "bad magic"; return NULL; }
    uint64_t size = read_u64(file + 8);
    if (size != file_size - ENVELOPE_BYTES) { *why = "size field does not match the file"; return NULL; }
    const uint8_t *payload = file + ENVELOPE_BYTES;
    if (read_u64(file + 16) != fnv1a64(payload, size)) { *why = "checksum mismatch"; return NULL; }
    // VkPipelineCacheHeaderVersionOne: length, version, vendorID, deviceID, pipelineCacheUUID.
    if (read_u32(payload) < DRIVER_HEADER_BYTES || read_u32(payload) > size ||
        read_u32(payload + 4) != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) {
        *why = "bad driver cache header";
        return NULL;
    }
    if (read_u32(payload + 8) != info->vendor_id || read_u32(payload + 12) != info->device_id ||
        memcmp(payload + 16, info->pipeline_cache_uuid, VK_UUID_SIZE) != 0) {
        *why = "made by another device or driver";
        return NULL;
    }
    *payload_size = size;
    return payload;
}

uint8_t *vkl_pipeline_cache_wrap(const uint8_t *payload, size_t payload_size, size_t *file_size)
{
    uint8_t *file = malloc(ENVELOPE_BYTES + payload_size);
    if (!file) return NULL;
    uint64_t size = payload_size, sum = fnv1a64(payload, payload_size);
    memcpy(file, MAGIC, sizeof MAGIC);
    memcpy(file + 8, &size, 8);
    memcpy(file + 16, &sum, 8);
    memcpy(file + ENVELOPE_BYTES, payload, payload_size);
    *file_size = ENVELOPE_BYTES + payload_size;
    return file;
}

// Fills device->pipeline_cache_path and creates its directory; false when no home is known.
static bool cache_path(vkl_device *device)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[768];
    if (xdg && xdg[0] == '/') snprintf(dir, sizeof dir, "%s/vkllm", xdg);
    else if (home && home[0]) snprintf(dir, sizeof dir, "%s/.cache/vkllm", home);
    else return false;
    // mkdir -p for the last two levels is enough: $HOME exists, .cache may not.
    char parent[768];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) { *slash = 0; mkdir(parent, 0755); }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return false;
    const uint8_t *u = device->info->pipeline_cache_uuid;
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", u[i]);
    snprintf(device->pipeline_cache_path, sizeof device->pipeline_cache_path,
             "%s/pipelines-%04x-%04x-%s.bin", dir, device->info->vendor_id, device->info->device_id, uuid);
    return true;
}

// Reads the whole cache file; NULL when absent or unreadable (absent is not worth a warning).
static uint8_t *read_cache_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    long length = -1;
    if (fseek(f, 0, SEEK_END) == 0) length = ftell(f);
    if (length > 0 && (unsigned long)length <= VKL_PIPELINE_CACHE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)length);
        if (data && fread(data, 1, (size_t)length, f) != (size_t)length) { free(data); data = NULL; }
    } else {
        vkl_log_warning("ignoring pipeline cache %s: size %ld out of range", path, length);
    }
    fclose(f);
    *size = data ? (size_t)length : 0;
    return data;
}

vkl_status vkl_pipeline_cache_open(vkl_device *device, bool persist)
{
    device->pipeline_cache_path[0] = 0;
    uint8_t *file = NULL;
    size_t file_size = 0, payload_size = 0;
    const uint8_t *payload = NULL;
    if (persist && cache_path(device)) {
        file = read_cache_file(device->pipeline_cache_path, &file_size);
        const char *why = NULL;
        if (file) payload = vkl_pipeline_cache_check(file, file_size, device->info, &payload_size, &why);
        if (file && !payload)
            vkl_log_warning("ignoring pipeline cache %s: %s", device->pipeline_cache_path, why);
    }
    VkPipelineCacheCreateInfo info = { VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
    info.initialDataSize = payload ? payload_size : 0;
    info.pInitialData = payload;
    VkResult result = vkCreatePipelineCache(device->device, &info, NULL, &device->pipeline_cache);
    free(file);
    if (result != VK_SUCCESS) {
        vkl_log_error("vkCreatePipelineCache failed: %s", vkl_vk_result_name(result));
        return VKL_ERR_VULKAN;
    }
    return VKL_OK;
}

static void write_cache_file(const char *path, const uint8_t *file, size_t size)
{
    // A temporary name of this process's own: two processes closing at once (parallel tests, two
    // users of one cache) must not write into the same file before renaming it.
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(file, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = false;
    // Rename is atomic, so a concurrent reader sees the old file or the new one, never half.
    if (!ok || rename(tmp, path) != 0) {
        vkl_log_warning("could not write pipeline cache %s: %s", path, strerror(errno));
        remove(tmp);
    }
}

void vkl_pipeline_cache_close(vkl_device *device)
{
    if (!device->pipeline_cache) return;
    size_t size = 0;
    if (device->pipeline_cache_path[0] &&
        vkGetPipelineCacheData(device->device, device->pipeline_cache, &size, NULL) == VK_SUCCESS && size) {
        uint8_t *payload = malloc(size);
        if (payload && vkGetPipelineCacheData(device->device, device->pipeline_cache, &size, payload) == VK_SUCCESS) {
            size_t file_size = 0;
            uint8_t *file = vkl_pipeline_cache_wrap(payload, size, &file_size);
            if (file) write_cache_file(device->pipeline_cache_path, file, file_size);
            free(file);
        }
        free(payload);
    }
    vkDestroyPipelineCache(device->device, device->pipeline_cache, NULL);
    device->pipeline_cache = VK_NULL_HANDLE;
}
