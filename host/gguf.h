// GGUF (versions 2 and 3) reader. The whole file is in memory; every length, count and offset
// is checked against the file size (and against overflow) before it is used.
#ifndef VKLLM_GGUF_H
#define VKLLM_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/status.h"

enum {
    GGUF_UINT8, GGUF_INT8, GGUF_UINT16, GGUF_INT16, GGUF_UINT32, GGUF_INT32, GGUF_FLOAT32, GGUF_BOOL,
    GGUF_STRING, GGUF_ARRAY, GGUF_UINT64, GGUF_INT64, GGUF_FLOAT64, GGUF_TYPE_COUNT
};
enum { GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1 };

typedef struct vkl_gguf_string {
    const char *text;  // not NUL-terminated
    uint64_t length;
} vkl_gguf_string;

typedef struct vkl_gguf_kv {
    vkl_gguf_string key;
    uint32_t type;
    union { uint64_t u; int64_t i; double f; } number;  // numeric and bool types
    vkl_gguf_string string;                            // GGUF_STRING
    uint32_t array_type;                               // GGUF_ARRAY
    uint64_t array_count;
    const uint8_t *array_data;                         // the elements, already bounds-checked
} vkl_gguf_kv;

typedef struct vkl_gguf_tensor {
    vkl_gguf_string name;
    uint32_t n_dims;
    uint64_t ne[4];    // ne[0] is the innermost (contiguous) dimension
    uint32_t type;     // ggml type
    uint64_t offset;   // from the start of the data section
} vkl_gguf_tensor;

typedef struct vkl_gguf {
    const char *path;
    const uint8_t *data;
    uint64_t size;
    uint32_t version;
    uint32_t alignment;     // general.alignment, default 32
    uint64_t data_offset;   // start of the tensor data section
    vkl_gguf_kv *kvs;       // stb_ds array
    vkl_gguf_tensor *tensors;  // stb_ds array
} vkl_gguf;

// Parses header, metadata and tensor infos. Errors name the file, the field and the value.
vkl_status vkl_gguf_parse(const char *path, const uint8_t *data, uint64_t size, vkl_gguf *out);
void vkl_gguf_free(vkl_gguf *g);
// The entry with key `key`, or NULL.
const vkl_gguf_kv *vkl_gguf_find(const vkl_gguf *g, const char *key);
// True when the string equals `text`.
bool vkl_gguf_string_is(vkl_gguf_string s, const char *text);
// A numeric entry as u32 / f32; false (logged) when missing, not numeric or out of range.
bool vkl_gguf_get_u32(const vkl_gguf *g, const char *key, uint32_t *out, bool required);
bool vkl_gguf_get_f32(const vkl_gguf *g, const char *key, float *out, bool required);
// The string at *cursor inside a string array (validated by the parser), advancing the cursor;
// start with cursor = kv->array_data and call array_count times.
vkl_gguf_string vkl_gguf_next_string(const uint8_t **at);

#endif
