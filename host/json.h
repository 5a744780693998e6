// A minimal streaming JSON writer: enough for reports (objects, arrays, strings, numbers).
#ifndef VKLLM_JSON_H
#define VKLLM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct vkl_json {
    FILE *out;
    int depth;
    bool need_comma[32];  // per nesting level: a value was already written there
} vkl_json;

void vkl_json_init(vkl_json *json, FILE *out);
void vkl_json_begin_object(vkl_json *json, const char *key);  // key NULL inside arrays / at top
void vkl_json_end_object(vkl_json *json);
void vkl_json_begin_array(vkl_json *json, const char *key);
void vkl_json_end_array(vkl_json *json);
void vkl_json_string(vkl_json *json, const char *key, const char *value);
// Non-finite numbers are written as null, which JSON can represent.
void vkl_json_number(vkl_json *json, const char *key, double value);
void vkl_json_uint(vkl_json *json, const char *key, uint64_t value);
void vkl_json_bool(vkl_json *json, const char *key, bool value);
// Writes `text` as a JSON string literal with escapes.
void vkl_json_write_escaped(FILE *out, const char *text);

#endif
