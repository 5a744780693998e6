#include "host/json.h"

#include <inttypes.h>
#include <math.h>

void vkl_json_init(vkl_json *json, FILE *out)
{
    json->out = out;
    json->depth = 0;
    json->need_comma[0] = false;
}

void vkl_json_write_escaped(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

static void key_prefix(vkl_json *json, const char *key)
{
    if (json->need_comma[json->depth]) fputc(',', json->out);
    json->need_comma[json->depth] = true;
    if (key) {
        vkl_json_write_escaped(json->out, key);
        fputc(':', json->out);
    }
}

static void open_scope(vkl_json *json, const char *key, char bracket)
{
    key_prefix(json, key);
    fputc(bracket, json->out);
    if (json->depth < 31) json->depth++;
    json->need_comma[json->depth] = false;
}

static void close_scope(vkl_json *json, char bracket)
{
    if (json->depth > 0) json->depth--;
    fputc(bracket, json->out);
    if (json->depth == 0) fputc('\n', json->out);
}

void vkl_json_begin_object(vkl_json *json, const char *key) { open_scope(json, key, '{'); }
void vkl_json_end_object(vkl_json *json) { close_scope(json, '}'); }
void vkl_json_begin_array(vkl_json *json, const char *key) { open_scope(json, key, '['); }
void vkl_json_end_array(vkl_json *json) { close_scope(json, ']'); }

void vkl_json_string(vkl_json *json, const char *key, const char *value)
{
    key_prefix(json, key);
    vkl_json_write_escaped(json->out, value ? value : "");
}

void vkl_json_number(vkl_json *json, const char *key, double value)
{
    key_prefix(json, key);
    if (isfinite(value)) fprintf(json->out, "%.9g", value);
    else fputs("null", json->out);
}

void vkl_json_uint(vkl_json *json, const char *key, uint64_t value)
{
    key_prefix(json, key);
    fprintf(json->out, "%" PRIu64, value);
}

void vkl_json_bool(vkl_json *json, const char *key, bool value)
{
    key_prefix(json, key);
    fputs(value ? "true" : "false", json->out);
}
