#include "host/model.h"

#include "host/arch.h"
#include "host/formats.h"
#include "host/ref.h"
#include "host/tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vkl_status vkl_read_file(const char *path, uint64_t max_bytes, void **data, uint64_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        vkl_log_error("%s: cannot open: %s", path, strerror(errno));
        return VKL_ERR_IO;
    }
    long length = -1;
    if (fseek(f, 0, SEEK_END) == 0) length = ftell(f);
    if (length < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        vkl_log_error("%s: cannot determine its size", path);
        return VKL_ERR_IO;
    }
    if ((uint64_t)length > max_bytes) {
        fclose(f);
        vkl_log_error("%s: %ld bytes, more than the %llu allowed", path, length, (unsigned long long)max_bytes);
        return VKL_ERR_OUT_OF_MEMORY;
    }
    void *buffer = malloc(length ? (size_t)length : 1);
    if (!buffer) {
        fclose(f);
        vkl_log_error("%s: cannot allocate %ld bytes", path, length);
        return VKL_ERR_OUT_OF_MEMORY;
    }
    size_t got = fread(buffer, 1, (size_t)length, f);
    fclose(f);
    if (got != (size_t)length) {
        free(buffer);
        vkl_log_error("%s: read %zu of %ld bytes", path, got, length);
        return VKL_ERR_IO;
    }
    *data = buffer;
    *size = (uint64_t)length;
    return VKL_OK;
}

void vkl_model_free(vkl_model *model)
{
    if (model->tokenizer) vkl_tokenizer_free(model->tokenizer);
    free(model->tokenizer);
    arrfree(model->tensors);
    for (ptrdiff_t i = 0; i < arrlen(model->owned); i++) free(model->owned[i]);
    arrfree(model->owned);
    free(model->file_data);
    memset(model, 0, sizeof *model);
}

const vkl_model_tensor *vkl_model_find(const vkl_model *model, const char *name)
{
    for (ptrdiff_t i = 0; i < arrlen(model->tensors); i++)
        if (strcmp(model->tensors[i].name, name) == 0) return &model->tensors[i];
    return NULL;
}

const vkl_model_tensor *vkl_model_find_layer(const vkl_model *model, int layer, const char *name, char *full_name)
{
    char buffer[64], *full = full_name ? full_name : buffer;
    if (layer >= 0) snprintf(full, 64, "blk.%d.%s", layer, name);
    else snprintf(full, 64, "%s", name);
    return vkl_model_find(model, full);
}

// One tensor the forward pass reads, with its element count.
static bool check_tensor(const vkl_model *m, const char *full, uint64_t count)
{
    const vkl_model_tensor *t = vkl_model_find(m, full);
    if (!t) {
        vkl_log_error("%s: tensor %s is missing", m->path, full);
        return false;
    }
    if (t->count != count) {
        vkl_log_error("%s: tensor %s has %llu elements; the model's shape needs %llu", m->path, full,
                      (unsigned long long)t->count, (unsigned long long)count);
        return false;
    }
    // Norm weights and biases are read as f32 by every kernel that applies them.
    if (t->n_dims == 1 && t->dtype != VKL_DTYPE_F32) {
        vkl_log_error("%s: tensor %s is %s; vectors (norm weights, biases) must be f32", m->path, full,
                      vkl_format_of(t->dtype)->name);
        return false;
    }
    return true;
}

// The grouped expert matmuls read gate, up and down with one element type.
static bool same_expert_types(const vkl_model *m, int layer)
{
    const vkl_model_tensor *gate = vkl_model_find_layer(m, layer, "ffn_gate_exps.weight", NULL);
    const vkl_model_tensor *up = vkl_model_find_layer(m, layer, "ffn_up_exps.weight", NULL);
    const vkl_model_tensor *down = vkl_model_find_layer(m, layer, "ffn_down_exps.weight", NULL);
    // The moe kernel reads gate and up in one format and down in its own when both are quantized.
    bool quantized = vkl_dtype_is_quantized(gate->dtype) && vkl_dtype_is_quantized(down->dtype);
    if (gate->dtype == up->dtype && (gate->dtype == down->dtype || quantized)) return true;
    vkl_log_error("%s: blk.%d: ffn_gate_exps and ffn_up_exps must share one type, and ffn_down_exps too unless both "
                  "are quantized (they are %s, %s, %s)",
                  m->path, layer, vkl_format_of(gate->dtype)->name, vkl_format_of(up->dtype)->name,
                  vkl_format_of(down->dtype)->name);
    return false;
}

bool vkl_model_check(const vkl_model *m)
{
    const vkl_model_config *c = &m->config;
    bool ok = true;
    for (int l = -1; l < (int)c->n_layers && ok; l++) {
        vkl_arch_tensor *need = NULL;
        vkl_arch_tensors(c, l, false, &need);
        for (ptrdiff_t i = 0; i < arrlen(need) && ok; i++) {
            uint64_t count = 1;
            for (uint32_t d = 0; d < need[i].n_dims; d++) count *= need[i].dims[d];
            ok = check_tensor(m, need[i].name, count);
        }
        arrfree(need);
        if (ok && l >= 0 && vkl_layer_has_experts(c, l)) ok = same_expert_types(m, l);
    }
    return ok;
}

void vkl_model_cache_rows(const vkl_model_config *c, uint32_t *k_row, uint32_t *v_row)
{
    bool mla = c->arch && c->arch->mla;
    *k_row = mla ? c->kv_lora_rank : c->n_kv_heads * c->head_dim;
    *v_row = mla ? c->rope_dim : c->n_kv_heads * c->head_dim;
}

uint64_t vkl_model_kv_bytes_per_token(const vkl_model_config *c)
{
    uint32_t k_row, v_row;
    vkl_model_cache_rows(c, &k_row, &v_row);
    return (uint64_t)c->n_layers * ((uint64_t)k_row + v_row) * sizeof(float);
}

uint32_t vkl_model_expert_width(const vkl_model_config *c)
{
    return c->expert_hidden_dim ? c->expert_hidden_dim : c->hidden_dim;
}

float vkl_model_expert_scale(const vkl_model_config *c)
{
    return c->expert_weights_scale ? c->expert_weights_scale : 1.0f;
}

vkl_rope_params vkl_model_rope(const vkl_model_config *c)
{
    return (vkl_rope_params){ .base = c->rope_base, .factor = c->rope_factor, .yarn_context = c->rope_yarn_context };
}

double vkl_model_attention_scale(const vkl_model_config *c)
{
    double mscale = 1.0;
    if (c->arch && c->arch->mla && c->rope_yarn_context && c->rope_factor > 1.0f)
        mscale = 1.0 + c->rope_yarn_log_mul * log(c->rope_factor);
    return mscale * mscale / sqrt(c->head_dim);
}

double vkl_model_decode_weight_bytes(const vkl_model *m)
{
    const vkl_model_config *c = &m->config;
    double bytes = 0.0;
    for (ptrdiff_t i = 0; i < arrlen(m->tensors); i++) {
        const vkl_model_tensor *t = &m->tensors[i];
        if (strcmp(t->name, "token_embd.weight") == 0) continue;
        bool experts = strstr(t->name, "_exps.") != NULL && c->n_experts > 0;
        bytes += experts ? (double)t->bytes * c->n_experts_used / c->n_experts : (double)t->bytes;
    }
    return bytes;
}

bool vkl_model_prefers_inline_dispatch(const vkl_model *m)
{
    uint32_t layers = m->config.n_layers ? m->config.n_layers : 1;
    return vkl_model_decode_weight_bytes(m) / layers <= VKL_INLINE_DISPATCH_LAYER_BYTES;
}

bool vkl_model_add_tensor(vkl_model *model, const char *name, vkl_dtype dtype, uint32_t n_dims, const uint64_t *dims,
                          uint64_t offset)
{
    vkl_model_tensor t = { .dtype = dtype, .n_dims = n_dims };
    snprintf(t.name, sizeof t.name, "%s", name);
    uint64_t count = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        t.dims[d] = dims[d];
        if (dims[d] == 0 || count > UINT64_MAX / dims[d]) {
            vkl_log_error("%s: tensor %s: bad dimension %u = %llu", model->path, name, d, (unsigned long long)dims[d]);
            return false;
        }
        count *= dims[d];
    }
    const vkl_format *f = vkl_format_of(dtype);
    if (n_dims == 0 || dims[n_dims - 1] % f->block || !vkl_format_file_bytes(f, count, &t.bytes)) {
        vkl_log_error("%s: tensor %s: rows of %llu values are not whole %s blocks of %u", model->path, name,
                      (unsigned long long)(n_dims ? dims[n_dims - 1] : 0), f->name, f->block);
        return false;
    }
    t.count = count;
    if (count > UINT64_MAX / 4 || offset > model->file_size || t.bytes > model->file_size - offset) {
        vkl_log_error("%s: tensor %s (%s): %llu bytes at offset %llu run past the end of the file (%llu bytes)",
                      model->path, name, f->name, (unsigned long long)t.bytes, (unsigned long long)offset,
                      (unsigned long long)model->file_size);
        return false;
    }
    t.data = (const uint8_t *)model->file_data + offset;
    arrput(model->tensors, t);
    return true;
}

#define MODEL_MAX_FILE (64ull << 30)

vkl_status vkl_model_load(const char *path, vkl_model *model)
{
    memset(model, 0, sizeof *model);
    snprintf(model->path, sizeof model->path, "%s", path);
    VKL_TRY(vkl_read_file(path, MODEL_MAX_FILE, &model->file_data, &model->file_size));
    vkl_status status;
    if (model->file_size >= 4 && memcmp(model->file_data, "GGUF", 4) == 0) {
        model->tokenizer = calloc(1, sizeof *model->tokenizer);
        status = model->tokenizer ? vkl_gguf_model_load(model, model->tokenizer) : VKL_ERR_OUT_OF_MEMORY;
    } else {
        status = vkl_llama2c_load(model);  // llama2.c checkpoints have no magic to check
        if (status != VKL_OK && model->file_size >= 4) {
            const uint8_t *m = model->file_data;
            vkl_log_error("%s is neither GGUF (magic %02x %02x %02x %02x) nor a valid llama2.c checkpoint", path, m[0],
                          m[1], m[2], m[3]);
        }
    }
    if (status != VKL_OK) vkl_model_free(model);
    return status;
}
