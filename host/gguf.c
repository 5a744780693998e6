#include "host/gguf.h"

#include <stb/stb_ds.h>
#include <stdio.h>
#include <string.h>

#define GGUF_MAX_STRING (1ull << 24)
#define GGUF_MAX_ENTRIES (1ull << 24)

typedef struct cursor {
    const vkl_gguf *g;
    uint64_t at;
    bool failed;
} cursor;

static bool fail(cursor *c, const char *what, unsigned long long value)
{
    if (!c->failed) vkl_log_error("%s: %s (%llu) at byte %llu", c->g->path, what, value, (unsigned long long)c->at);
    c->failed = true;
    return false;
}

static bool take(cursor *c, uint64_t bytes, const uint8_t **out)
{
    if (c->failed) return false;
    if (bytes > c->g->size - c->at) return fail(c, "file ends inside a field of this many bytes", bytes);
    *out = c->g->data + c->at;
    c->at += bytes;
    return true;
}

static bool read_u32(cursor *c, uint32_t *v)
{
    const uint8_t *p;
    if (!take(c, 4, &p)) return false;
    memcpy(v, p, 4);
    return true;
}

static bool read_u64(cursor *c, uint64_t *v)
{
    const uint8_t *p;
    if (!take(c, 8, &p)) return false;
    memcpy(v, p, 8);
    return true;
}

static bool read_string(cursor *c, vkl_gguf_string *s)
{
    const uint8_t *p;
    if (!read_u64(c, &s->length)) return false;
    if (s->length > GGUF_MAX_STRING) return fail(c, "string length too large", s->length);
    if (!take(c, s->length, &p)) return false;
    s->text = (const char *)p;
    return true;
}

static uint64_t scalar_size(uint32_t type)
{
    static const uint8_t sizes[GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return type < GGUF_TYPE_COUNT ? sizes[type] : 0;
}

static bool read_number(cursor *c, uint32_t type, vkl_gguf_kv *kv)
{
    const uint8_t *p;
    if (!take(c, scalar_size(type), &p)) return false;
    uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
    switch (type) {
    case GGUF_UINT8: memcpy(&u8, p, 1); kv->number.u = u8; break;
    case GGUF_BOOL: memcpy(&u8, p, 1); kv->number.u = u8 != 0; break;
    case GGUF_INT8: memcpy(&i8, p, 1); kv->number.i = i8; break;
    case GGUF_UINT16: memcpy(&u16, p, 2); kv->number.u = u16; break;
    case GGUF_INT16: memcpy(&i16, p, 2); kv->number.i = i16; break;
    case GGUF_UINT32: memcpy(&u32, p, 4); kv->number.u = u32; break;
    case GGUF_INT32: memcpy(&i32, p, 4); kv->number.i = i32; break;
    case GGUF_FLOAT32: memcpy(&f32, p, 4); kv->number.f = f32; break;
    case GGUF_FLOAT64: memcpy(&kv->number.f, p, 8); break;
    default: memcpy(&kv->number.u, p, 8); break;  // UINT64, INT64
    }
    return true;
}

static bool read_array(cursor *c, vkl_gguf_kv *kv)
{
    if (!read_u32(c, &kv->array_type) || !read_u64(c, &kv->array_count)) return false;
    if (kv->array_type == GGUF_ARRAY || kv->array_type >= GGUF_TYPE_COUNT)
        return fail(c, "unsupported array element type", kv->array_type);
    if (kv->array_count > GGUF_MAX_ENTRIES) return fail(c, "array too long", kv->array_count);
    kv->array_data = c->g->data + c->at;
    if (kv->array_type != GGUF_STRING) {
        const uint8_t *p;
        return take(c, kv->array_count * scalar_size(kv->array_type), &p);
    }
    vkl_gguf_string s;
    for (uint64_t i = 0; i < kv->array_count; i++)
        if (!read_string(c, &s)) return false;
    return true;
}

static bool read_kv(cursor *c, vkl_gguf_kv *kv)
{
    memset(kv, 0, sizeof *kv);
    if (!read_string(c, &kv->key) || !read_u32(c, &kv->type)) return false;
    if (kv->type >= GGUF_TYPE_COUNT) return fail(c, "unknown metadata value type", kv->type);
    if (kv->type == GGUF_STRING) return read_string(c, &kv->string);
    if (kv->type == GGUF_ARRAY) return read_array(c, kv);
    return read_number(c, kv->type, kv);
}

static bool read_tensor_info(cursor *c, vkl_gguf_tensor *t)
{
    memset(t, 0, sizeof *t);
    if (!read_string(c, &t->name) || !read_u32(c, &t->n_dims)) return false;
    if (t->n_dims < 1 || t->n_dims > 4) return fail(c, "tensor n_dims out of range 1..4", t->n_dims);
    for (uint32_t d = 0; d < t->n_dims; d++)
        if (!read_u64(c, &t->ne[d])) return false;
    return read_u32(c, &t->type) && read_u64(c, &t->offset);
}

static bool read_header(cursor *c, vkl_gguf *g, uint64_t *n_tensors, uint64_t *n_kvs)
{
    const uint8_t *magic;
    if (!take(c, 4, &magic) || memcmp(magic, "GGUF", 4) != 0) return fail(c, "not a GGUF file: bad magic", 0);
    if (!read_u32(c, &g->version)) return false;
    if (g->version != 2 && g->version != 3) return fail(c, "unsupported GGUF version (2 and 3 are)", g->version);
    if (!read_u64(c, n_tensors) || !read_u64(c, n_kvs)) return false;
    if (*n_tensors > GGUF_MAX_ENTRIES) return fail(c, "tensor count too large", *n_tensors);
    if (*n_kvs > GGUF_MAX_ENTRIES) return fail(c, "metadata count too large", *n_kvs);
    return true;
}

vkl_status vkl_gguf_parse(const char *path, const uint8_t *data, uint64_t size, vkl_gguf *g)
{
    *g = (vkl_gguf){ .path = path, .data = data, .size = size, .alignment = 32 };
    cursor c = { .g = g };
    uint64_t n_tensors = 0, n_kvs = 0;
    bool ok = read_header(&c, g, &n_tensors, &n_kvs);
    for (uint64_t i = 0; ok && i < n_kvs; i++) {
        vkl_gguf_kv kv;
        if ((ok = read_kv(&c, &kv))) arrput(g->kvs, kv);
    }
    uint32_t alignment = 32;
    if (ok && vkl_gguf_find(g, "general.alignment") && !vkl_gguf_get_u32(g, "general.alignment", &alignment, true)) ok = false;
    if (ok && (alignment == 0 || alignment > (1u << 16) || (alignment & (alignment - 1))))
        ok = fail(&c, "general.alignment is not a power of two up to 65536", alignment);
    g->alignment = alignment;
    for (uint64_t i = 0; ok && i < n_tensors; i++) {
        vkl_gguf_tensor t;
        if ((ok = read_tensor_info(&c, &t))) arrput(g->tensors, t);
    }
    if (ok) g->data_offset = (c.at + alignment - 1) / alignment * alignment;  // alignment is valid only then
    if (ok && g->data_offset > size && n_tensors) ok = fail(&c, "data section starts past the end of the file", g->data_offset);
    if (ok) return VKL_OK;
    vkl_gguf_free(g);
    return VKL_ERR_INVALID_ARG;
}

void vkl_gguf_free(vkl_gguf *g)
{
    arrfree(g->kvs);
    arrfree(g->tensors);
}

bool vkl_gguf_string_is(vkl_gguf_string s, const char *text)
{
    return strlen(text) == s.length && memcmp(s.text, text, s.length) == 0;
}

const vkl_gguf_kv *vkl_gguf_find(const vkl_gguf *g, const char *key)
{
    for (ptrdiff_t i = 0; i < arrlen(g->kvs); i++)
        if (vkl_gguf_string_is(g->kvs[i].key, key)) return &g->kvs[i];
    return NULL;
}

static bool get_number(const vkl_gguf *g, const char *key, double *out, bool required)
{
    const vkl_gguf_kv *kv = vkl_gguf_find(g, key);
    if (!kv) {
        if (required) vkl_log_error("%s: metadata %s is missing", g->path, key);
        return false;
    }
    switch (kv->type) {
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64: *out = (double)kv->number.i; return true;
    case GGUF_FLOAT32: case GGUF_FLOAT64: *out = kv->number.f; return true;
    case GGUF_STRING: case GGUF_ARRAY:
        vkl_log_error("%s: metadata %s is not a number (type %u)", g->path, key, kv->type);
        return false;
    default: *out = (double)kv->number.u; return true;
    }
}

bool vkl_gguf_get_u32(const vkl_gguf *g, const char *key, uint32_t *out, bool required)
{
    double v;
    if (!get_number(g, key, &v, required)) return false;
    if (!(v >= 0 && v <= UINT32_MAX) || v != (double)(uint64_t)v) {
        vkl_log_error("%s: metadata %s = %g is not an integer in 0..4294967295", g->path, key, v);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool vkl_gguf_get_f32(const vkl_gguf *g, const char *key, float *out, bool required)
{
    double v;
    if (!get_number(g, key, &v, required)) return false;
    *out = (float)v;
    return true;
}

vkl_gguf_string vkl_gguf_next_string(const uint8_t **at)
{
    vkl_gguf_string s;
    memcpy(&s.length, *at, 8);
    s.text = (const char *)*at + 8;
    *at += 8 + s.length;
    return s;
}
