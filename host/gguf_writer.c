#include "host/gguf_writer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/half.h"
#include "host/rng.h"

#define ALIGNMENT 32u

typedef struct writer {
    FILE *f;
    bool failed;
    uint64_t kv_count;  // metadata entries written, patched into the header at the end
} writer;

static void put(writer *w, const void *data, size_t size)
{
    if (!w->failed && fwrite(data, 1, size, w->f) != size) w->failed = true;
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }
static void put_string(writer *w, const char *s) { put_u64(w, strlen(s)); put(w, s, strlen(s)); }
static void key(writer *w, const char *k, uint32_t type) { put_string(w, k); put_u32(w, type); w->kv_count++; }
static void kv_u32(writer *w, const char *k, uint32_t v) { key(w, k, GGUF_UINT32); put_u32(w, v); }
static void kv_f32(writer *w, const char *k, float v) { key(w, k, GGUF_FLOAT32); put(w, &v, 4); }
static void kv_string(writer *w, const char *k, const char *v) { key(w, k, GGUF_STRING); put_string(w, v); }

// One tensor of the file: name, shape (outermost first) and how to fill it.
typedef struct tensor_plan {
    char name[64];
    uint32_t n_dims;
    uint64_t dims[3];
    bool f16;
    float scale;  // uniform in [-scale, scale], or 1 + noise for norms (scale < 0)
} tensor_plan;

static void plan(tensor_plan **list, size_t *n, const char *name, int layer, uint32_t n_dims, uint64_t d0, uint64_t d1,
                 uint64_t d2, bool f16, float scale)
{
    tensor_plan *t = &(*list)[(*n)++];
    if (layer >= 0) snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, name);
    else snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->dims[2] = d2;
    t->f16 = f16;
    t->scale = scale;
}

static size_t plan_tensors(const vkl_synthetic_model *m, tensor_plan *list)
{
    const vkl_model_config *c = &m->config;
    uint64_t d = c->dim, h = c->hidden_dim, kv = (uint64_t)c->n_kv_heads * (c->dim / c->n_heads), e = c->n_experts;
    float sd = 1.0f / sqrtf((float)d), sh = 1.0f / sqrtf((float)h);
    size_t n = 0;
    plan(&list, &n, "token_embd.weight", -1, 2, c->vocab_size, d, 0, m->f16, 1.0f);
    for (int l = 0; l < (int)c->n_layers; l++) {
        plan(&list, &n, "attn_norm.weight", l, 1, d, 0, 0, false, -1.0f);
        plan(&list, &n, "attn_q.weight", l, 2, d, d, 0, m->f16, sd);
        plan(&list, &n, "attn_k.weight", l, 2, kv, d, 0, m->f16, sd);
        plan(&list, &n, "attn_v.weight", l, 2, kv, d, 0, m->f16, sd);
        plan(&list, &n, "attn_output.weight", l, 2, d, d, 0, m->f16, sd);
        plan(&list, &n, "ffn_norm.weight", l, 1, d, 0, 0, false, -1.0f);
        if (e) {
            plan(&list, &n, "ffn_gate_inp.weight", l, 2, e, d, 0, false, sd);
            plan(&list, &n, "ffn_gate_exps.weight", l, 3, e, h, d, m->f16, sd);
            plan(&list, &n, "ffn_up_exps.weight", l, 3, e, h, d, m->f16, sd);
            plan(&list, &n, "ffn_down_exps.weight", l, 3, e, d, h, m->f16, sh);
        } else {
            plan(&list, &n, "ffn_gate.weight", l, 2, h, d, 0, m->f16, sd);
            plan(&list, &n, "ffn_up.weight", l, 2, h, d, 0, m->f16, sd);
            plan(&list, &n, "ffn_down.weight", l, 2, d, h, 0, m->f16, sh);
        }
    }
    plan(&list, &n, "output_norm.weight", -1, 1, d, 0, 0, false, -1.0f);
    plan(&list, &n, "output.weight", -1, 2, c->vocab_size, d, 0, m->f16, sd);
    return n;
}

static uint64_t tensor_bytes(const tensor_plan *t)
{
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) count *= t->dims[i];
    return count * (t->f16 ? 2 : 4);
}

static void write_metadata(writer *w, const vkl_synthetic_model *m)
{
    const vkl_model_config *c = &m->config;
    kv_string(w, "general.architecture", "llama");
    kv_string(w, "general.name", "vkllm synthetic");
    kv_u32(w, "general.alignment", ALIGNMENT);
    kv_u32(w, "llama.context_length", c->context);
    kv_u32(w, "llama.embedding_length", c->dim);
    kv_u32(w, "llama.block_count", c->n_layers);
    kv_u32(w, "llama.feed_forward_length", c->hidden_dim);
    kv_u32(w, "llama.attention.head_count", c->n_heads);
    kv_u32(w, "llama.attention.head_count_kv", c->n_kv_heads);
    kv_u32(w, "llama.rope.dimension_count", c->dim / c->n_heads);
    kv_f32(w, "llama.rope.freq_base", c->rope_base);
    kv_f32(w, "llama.attention.layer_norm_rms_epsilon", c->rms_eps);
    if (c->n_experts) {
        kv_u32(w, "llama.expert_count", c->n_experts);
        kv_u32(w, "llama.expert_used_count", c->n_experts_used);
    }
    kv_string(w, "tokenizer.ggml.model", "llama");
    kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    // Vocabulary: <unk> <s> </s>, the 256 byte pieces, then filler words "▁tN".
    key(w, "tokenizer.ggml.tokens", GGUF_ARRAY);
    put_u32(w, GGUF_STRING);
    put_u64(w, c->vocab_size);
    for (uint32_t i = 0; i < c->vocab_size; i++) {
        char piece[32];
        if (i < 3) snprintf(piece, sizeof piece, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
        else if (i < 259) snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        else snprintf(piece, sizeof piece, "\xe2\x96\x81t%u", i);
        put_string(w, piece);
    }
    key(w, "tokenizer.ggml.scores", GGUF_ARRAY);
    put_u32(w, GGUF_FLOAT32);
    put_u64(w, c->vocab_size);
    for (uint32_t i = 0; i < c->vocab_size; i++) {
        float score = -(float)i;
        put(w, &score, 4);
    }
}

static void pad(writer *w, uint64_t *at)
{
    static const uint8_t zeros[ALIGNMENT];
    uint64_t n = (ALIGNMENT - *at % ALIGNMENT) % ALIGNMENT;
    put(w, zeros, n);
    *at += n;
}

static void write_tensor_data(writer *w, const tensor_plan *t, vkl_rng *rng)
{
    uint64_t count = tensor_bytes(t) / (t->f16 ? 2 : 4);
    enum { CHUNK = 4096 };
    uint8_t buffer[CHUNK * 4];
    for (uint64_t done = 0; done < count && !w->failed;) {
        uint64_t n = count - done < CHUNK ? count - done : CHUNK;
        for (uint64_t i = 0; i < n; i++) {
            float v = t->scale < 0 ? 1.0f + vkl_rng_uniform(rng, -0.1f, 0.1f) : vkl_rng_uniform(rng, -t->scale, t->scale);
            if (t->f16) {
                uint16_t h = vkl_f32_to_f16(v);
                memcpy(buffer + 2 * i, &h, 2);
            } else {
                memcpy(buffer + 4 * i, &v, 4);
            }
        }
        put(w, buffer, n * (t->f16 ? 2 : 4));
        done += n;
    }
}

vkl_status vkl_write_synthetic_gguf(const char *path, const vkl_synthetic_model *m)
{
    const vkl_model_config *c = &m->config;
    size_t capacity = 3 + (size_t)c->n_layers * 10 + 2;
    tensor_plan *tensors = calloc(capacity, sizeof *tensors);
    if (!tensors) return VKL_ERR_OUT_OF_MEMORY;
    size_t n = plan_tensors(m, tensors);
    writer w = { .f = fopen(path, "wb") };
    if (!w.f) {
        vkl_log_error("%s: cannot create: %s", path, strerror(errno));
        free(tensors);
        return VKL_ERR_IO;
    }
    put(&w, "GGUF", 4);
    put_u32(&w, 3);
    put_u64(&w, n);
    put_u64(&w, 0);  // metadata count, patched below
    write_metadata(&w, m);
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        put_string(&w, tensors[i].name);
        put_u32(&w, tensors[i].n_dims);
        for (uint32_t d = 0; d < tensors[i].n_dims; d++) put_u64(&w, tensors[i].dims[tensors[i].n_dims - 1 - d]);
        put_u32(&w, tensors[i].f16 ? GGML_TYPE_F16 : GGML_TYPE_F32);
        put_u64(&w, offset);
        offset += (tensor_bytes(&tensors[i]) + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
    long header = ftell(w.f);
    uint64_t at = header < 0 ? 0 : (uint64_t)header;
    pad(&w, &at);
    vkl_rng rng;
    vkl_rng_seed(&rng, m->seed);
    for (size_t i = 0; i < n; i++) {
        write_tensor_data(&w, &tensors[i], &rng);
        at += tensor_bytes(&tensors[i]);
        pad(&w, &at);
    }
    free(tensors);
    if (fseek(w.f, 16, SEEK_SET) != 0) w.failed = true;
    put_u64(&w, w.kv_count);
    if (fclose(w.f) != 0) w.failed = true;
    if (w.failed) {
        vkl_log_error("%s: write failed: %s", path, strerror(errno));
        return VKL_ERR_IO;
    }
    return VKL_OK;
}
