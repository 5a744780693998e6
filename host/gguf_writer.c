#include "host/gguf_writer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stb/stb_ds.h>
#include <stdlib.h>
#include <string.h>

#include "host/arch.h"
#include "host/gguf.h"
#include "host/half.h"
#include "host/rng.h"

#define ALIGNMENT 32u

// ---- Weight types.

static const vkl_quant_type QUANT_TYPES[] = {
    { "f32", "f32", VKL_MIX_NONE, 0 },      { "f16", "f16", VKL_MIX_NONE, 1 },
    { "q8_0", "q8_0", VKL_MIX_NONE, 7 },    { "q4_0", "q4_0", VKL_MIX_NONE, 2 },
    { "q4_1", "q4_1", VKL_MIX_NONE, 3 },    { "q5_0", "q5_0", VKL_MIX_NONE, 8 },
    { "q5_1", "q5_1", VKL_MIX_NONE, 9 },    { "q2_k", "q2_k", VKL_MIX_NONE, 10 },
    // llama_ftype has no all-K-quant types: the nearest, the _S mixes, which are mostly that format.
    { "q3_k", "q3_k", VKL_MIX_NONE, 11 },   { "q4_k", "q4_k", VKL_MIX_NONE, 14 },
    { "q5_k", "q5_k", VKL_MIX_NONE, 16 },   { "q6_k", "q6_k", VKL_MIX_NONE, 18 },
    { "q4_k_s", "q4_k", VKL_MIX_Q4_K_S, 14 }, { "q4_k_m", "q4_k", VKL_MIX_Q4_K_M, 15 },
    { "q5_k_m", "q5_k", VKL_MIX_Q5_K_M, 17 },
};

const vkl_quant_type *vkl_quant_type_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof QUANT_TYPES / sizeof QUANT_TYPES[0]; i++) {
        const char *a = QUANT_TYPES[i].name, *b = name;
        while (*a && tolower((unsigned char)*b) == *a) a++, b++;
        if (!*a && !*b) return &QUANT_TYPES[i];
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

// llama.cpp's tensor_allows_quantization: matrices, not norms, routers or learned position
// embeddings (GPT-2's position_embd stays f32).
static bool quantizable(const char *name, uint32_t n_dims)
{
    return n_dims >= 2 && ends_with(name, "weight") && !strstr(name, "_norm.weight") &&
           !strstr(name, "ffn_gate_inp.weight") && strcmp(name, "position_embd.weight") != 0;
}

static int layer_of(const char *name)
{
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
    return layer;
}

// llama.cpp's: the first and last eighth of the layers, and every third between.
static bool use_more_bits(int layer, int n_layers)
{
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

// llama.cpp's llama_tensor_get_type_impl, the branches that the Q4_K_S, Q4_K_M and Q5_K_M file
// types take on llama-architecture models (not Falcon, not the 70B attn_v bump). The layer
// counters there run over tensors sorted by layer, one attn_v and one ffn_down a layer: the
// layer number.
static const vkl_format *mix_format(vkl_quant_mix mix, const vkl_quant_model *m, const char *name, uint64_t row,
                                    const vkl_format *base)
{
    const vkl_format *q5_k = vkl_format_from_name("q5_k"), *q6_k = vkl_format_from_name("q6_k"),
                     *q8_0 = vkl_format_from_name("q8_0");
    int layer = layer_of(name), n = (int)m->n_layers;
    bool experts8 = m->n_experts == 8;
    if (!strcmp(name, "output.weight") || (m->tied_output && !strcmp(name, "token_embd.weight")))
        return row % base->block ? q8_0 : q6_k;  // the classifier
    if (!strcmp(name, "token_embd.weight")) return base;
    if (strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight") || strstr(name, "attn_v.weight")) {
        if (experts8) return q8_0;
        if (mix == VKL_MIX_Q4_K_S) return layer < 4 ? q5_k : base;
        return use_more_bits(layer, n) ? q6_k : base;
    }
    if (strstr(name, "attn_k.weight")) return experts8 ? q8_0 : base;
    if (strstr(name, "attn_q.weight")) return base;
    if (strstr(name, "attn_output.weight")) return experts8 && mix != VKL_MIX_Q5_K_M ? q5_k : base;
    if (strstr(name, "ffn_up") || strstr(name, "ffn_gate")) return base;
    if (strstr(name, "ffn_down")) {
        if (mix == VKL_MIX_Q4_K_S) return layer < n / 8 ? q5_k : base;
        return use_more_bits(layer, n) ? q6_k : base;
    }
    return base;
}

// llama.cpp's tensor_type_fallback for rows that are not whole blocks, then f16.
static const vkl_format *fallback(const vkl_format *f, uint64_t row)
{
    static const char *const TABLE[][2] = { { "q2_k", "q4_0" }, { "q3_k", "q4_0" }, { "q4_k", "q5_0" },
                                            { "q5_k", "q5_1" }, { "q6_k", "q8_0" } };
    if (row % f->block == 0) return f;
    const vkl_format *to = NULL;
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (!strcmp(f->name, TABLE[i][0])) to = vkl_format_from_name(TABLE[i][1]);
    return to && row % to->block == 0 ? to : vkl_format_from_name("f16");
}

vkl_quant_choice vkl_quant_choose(const vkl_quant_type *type, const vkl_quant_model *model, const char *name,
                                  uint32_t n_dims, uint64_t row)
{
    const vkl_format *f32 = vkl_format_from_name("f32"), *base = vkl_format_from_name(type->base);
    if (!quantizable(name, n_dims) || base == f32) return (vkl_quant_choice){ f32, f32 };
    const vkl_format *wanted = type->mix == VKL_MIX_NONE ? base : mix_format(type->mix, model, name, row, base);
    return (vkl_quant_choice){ fallback(wanted, row), wanted };
}

// ---- The file.

typedef vkl_gguf_writer writer;

static void misuse(writer *w, const char *what)
{
    if (!w->failed) snprintf(w->error, sizeof w->error, "%s", what);
    w->failed = true;
}

static void put(writer *w, const void *data, size_t size)
{
    if (!w->failed && fwrite(data, 1, size, w->f) != size) w->failed = true;
    w->at += size;
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }
static void put_string(writer *w, const char *s) { put_u64(w, strlen(s)); put(w, s, strlen(s)); }
static void put_gguf_string(writer *w, vkl_gguf_string s) { put_u64(w, s.length); put(w, s.text, (size_t)s.length); }
static void key(writer *w, const char *k, uint32_t type) { put_string(w, k); put_u32(w, type); w->kv_count++; }
static void kv_u32(writer *w, const char *k, uint32_t v) { key(w, k, GGUF_UINT32); put_u32(w, v); }
static void kv_f32(writer *w, const char *k, float v) { key(w, k, GGUF_FLOAT32); put(w, &v, 4); }
static void kv_string(writer *w, const char *k, const char *v) { key(w, k, GGUF_STRING); put_string(w, v); }
static void kv_bool(writer *w, const char *k, bool v)
{
    uint8_t b = v;
    key(w, k, GGUF_BOOL);
    put(w, &b, 1);
}

void vkl_gguf_writer_kv_u32(writer *w, const char *k, uint32_t v) { kv_u32(w, k, v); }
void vkl_gguf_writer_kv_f32(writer *w, const char *k, float v) { kv_f32(w, k, v); }
void vkl_gguf_writer_kv_string(writer *w, const char *k, const char *v) { kv_string(w, k, v); }

static uint64_t scalar_size(uint32_t type)
{
    static const uint8_t sizes[GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return type < GGUF_TYPE_COUNT ? sizes[type] : 0;
}

// A scalar of `type` from the parser's number union, in its width.
static void put_number(writer *w, uint32_t type, const vkl_gguf_kv *kv)
{
    uint8_t bytes[8];
    int64_t i = kv->number.i;
    uint64_t u = kv->number.u;
    float f32 = (float)kv->number.f;  // exact: the parser widened an f32
    switch (type) {
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64: memcpy(bytes, &i, 8); break;
    case GGUF_FLOAT32: memcpy(bytes, &f32, 4); break;
    case GGUF_FLOAT64: memcpy(bytes, &kv->number.f, 8); break;
    default: memcpy(bytes, &u, 8); break;
    }
    put(w, bytes, (size_t)scalar_size(type));  // little-endian: the low bytes
}

void vkl_gguf_writer_kv_copy(writer *w, const vkl_gguf_kv *kv)
{
    put_gguf_string(w, kv->key);
    put_u32(w, kv->type);
    w->kv_count++;
    if (kv->type == GGUF_STRING) {
        put_gguf_string(w, kv->string);
    } else if (kv->type == GGUF_ARRAY) {
        put_u32(w, kv->array_type);
        put_u64(w, kv->array_count);
        const uint8_t *end = kv->array_data;
        if (kv->array_type == GGUF_STRING)
            for (uint64_t i = 0; i < kv->array_count; i++) vkl_gguf_next_string(&end);
        else end += kv->array_count * scalar_size(kv->array_type);
        put(w, kv->array_data, (size_t)(end - kv->array_data));
    } else {
        put_number(w, kv->type, kv);
    }
}

static void pad(writer *w)
{
    static const uint8_t zeros[1 << 16];
    put(w, zeros, (size_t)((w->alignment - w->at % w->alignment) % w->alignment));
}

vkl_status vkl_gguf_writer_open(writer *w, const char *path, uint64_t n_tensors, uint32_t alignment)
{
    *w = (writer){ .path = path, .alignment = alignment ? alignment : ALIGNMENT, .n_tensors = n_tensors };
    if (w->alignment > (1u << 16) || (w->alignment & (w->alignment - 1))) {
        vkl_log_error("%s: alignment %u is not a power of two up to 65536", path, w->alignment);
        return VKL_ERR_INVALID_ARG;
    }
    if (!(w->f = fopen(path, "wb"))) {
        vkl_log_error("%s: cannot create: %s", path, strerror(errno));
        return VKL_ERR_IO;
    }
    put(w, "GGUF", 4);
    put_u32(w, 3);
    put_u64(w, n_tensors);
    put_u64(w, 0);  // metadata count, patched at close
    return VKL_OK;
}

void vkl_gguf_writer_tensor_info(writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t ggml_type,
                                 uint64_t bytes)
{
    if ((uint64_t)arrlen(w->sizes) >= w->n_tensors) return misuse(w, "more tensor infos than declared");
    put_string(w, name);
    put_u32(w, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) put_u64(w, ne[d]);
    put_u32(w, ggml_type);
    put_u64(w, w->next_offset);
    arrput(w->sizes, bytes);
    uint64_t padded = bytes + (w->alignment - bytes % w->alignment) % w->alignment;
    if (padded < bytes || w->next_offset > UINT64_MAX - padded) return misuse(w, "tensor data offsets overflow");
    w->next_offset += padded;
}

void vkl_gguf_writer_data(writer *w, const void *data, uint64_t bytes)
{
    if (w->data_index == 0 && w->data_written == 0) {  // the first data: the infos are done
        if ((uint64_t)arrlen(w->sizes) != w->n_tensors) return misuse(w, "fewer tensor infos than declared");
        pad(w);
    }
    if (w->data_index >= (uint64_t)arrlen(w->sizes) || bytes > w->sizes[w->data_index] - w->data_written)
        return misuse(w, "more tensor data than its info declared");
    put(w, data, (size_t)bytes);
    w->data_written += bytes;
}

void vkl_gguf_writer_end_tensor(writer *w)
{
    if (w->data_index >= (uint64_t)arrlen(w->sizes) || w->data_written != w->sizes[w->data_index])
        return misuse(w, "tensor data shorter than its info declared");
    pad(w);
    w->data_index++;
    w->data_written = 0;
}

vkl_status vkl_gguf_writer_close(writer *w)
{
    if (!w->failed && w->data_index != w->n_tensors) misuse(w, "fewer tensors' data than declared");
    if (fseek(w->f, 16, SEEK_SET) != 0) w->failed = true;
    if (!w->failed && fwrite(&w->kv_count, 8, 1, w->f) != 1) w->failed = true;
    if (fclose(w->f) != 0) w->failed = true;
    arrfree(w->sizes);
    if (!w->failed) return VKL_OK;
    if (w->error[0]) vkl_log_error("%s: %s", w->path, w->error);
    else vkl_log_error("%s: write failed: %s", w->path, strerror(errno));
    return w->error[0] ? VKL_ERR_INVALID_ARG : VKL_ERR_IO;
}

void vkl_gguf_writer_abort(writer *w)
{
    fclose(w->f);
    arrfree(w->sizes);
}

// ---- Synthetic models.

// One tensor of the file: name, shape (outermost first) and how to fill it.
typedef struct tensor_plan {
    char name[64];
    uint32_t n_dims;
    uint64_t dims[3];
    const vkl_format *format;
    float scale;  // uniform in [-scale, scale], or 1 + noise for norms (scale < 0)
} tensor_plan;

// The architecture's tensors as its files have them (host/arch.h), each filled by its role:
// matrices and embeddings uniform in +-1/sqrt(fan-in) (embeddings +-1), norms 1 + noise,
// biases small.
static tensor_plan *plan_tensors(const vkl_synthetic_model *m)
{
    const vkl_model_config *c = &m->config;
    tensor_plan *list = NULL;
    for (int l = -1; l < (int)c->n_layers; l++) {
        vkl_arch_tensor *tensors = NULL;
        vkl_arch_tensors(c, l, true, &tensors);
        for (ptrdiff_t i = 0; i < arrlen(tensors); i++) {
            const vkl_arch_tensor *a = &tensors[i];
            tensor_plan t = { .n_dims = a->n_dims, .dims = { a->dims[0], a->dims[1], a->dims[2] } };
            snprintf(t.name, sizeof t.name, "%s", a->name);
            if (m->mla_kv_b && ends_with(a->name, "attn_v_b.weight")) continue;
            if (m->mla_kv_b && ends_with(a->name, "attn_k_b.weight")) {  // (H (nope + v), latent)
                snprintf(t.name, sizeof t.name, "blk.%d.attn_kv_b.weight", l);
                t = (tensor_plan){ .n_dims = 2, .dims = { (uint64_t)c->n_heads * (c->head_dim - c->rope_dim + c->head_dim_v),
                                                          c->kv_lora_rank } };
                snprintf(t.name, sizeof t.name, "blk.%d.attn_kv_b.weight", l);
            }
            uint64_t fan_in = t.dims[t.n_dims - 1];
            t.scale = a->role == VKL_ROLE_NORM ? -1.0f : a->role == VKL_ROLE_BIAS ? 0.1f
                    : a->role == VKL_ROLE_EMBEDDING ? 1.0f : 1.0f / sqrtf((float)fan_in);
            if (l == -1 && !strcmp(a->name, "token_embd.weight")) arrput(list, t);
            else if (l >= 0 || !a->optional || !m->tied_output) arrput(list, t);
        }
        arrfree(tensors);
    }
    // Formats: the type's choice per tensor (norms, biases and routers stay f32).
    const vkl_quant_type *type = m->type ? m->type : vkl_quant_type_from_name(m->f16 ? "f16" : "f32");
    vkl_quant_model qm = { .n_layers = c->n_layers, .n_experts = c->n_experts, .tied_output = m->tied_output };
    for (ptrdiff_t i = 0; i < arrlen(list); i++) {
        uint64_t row = list[i].dims[list[i].n_dims - 1];
        list[i].format = vkl_quant_choose(type, &qm, list[i].name, list[i].n_dims, row).format;
    }
    return list;
}

static uint64_t tensor_count(const tensor_plan *t)
{
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) count *= t->dims[i];
    return count;
}

static uint64_t tensor_bytes(const tensor_plan *t)
{
    uint64_t bytes = 0;
    vkl_format_file_bytes(t->format, tensor_count(t), &bytes);  // whole blocks: the choice saw to it
    return bytes;
}

// The vocabulary: a given file's tokenizer.* keys as they are, or mkmodel's own.
static void write_vocabulary(writer *w, const vkl_synthetic_model *m)
{
    if (m->vocabulary) {
        for (ptrdiff_t i = 0; i < arrlen(m->vocabulary->kvs); i++) {
            const vkl_gguf_kv *kv = &m->vocabulary->kvs[i];
            if (kv->key.length > 10 && memcmp(kv->key.text, "tokenizer.", 10) == 0) vkl_gguf_writer_kv_copy(w, kv);
        }
        return;
    }
    const vkl_model_config *c = &m->config;
    kv_string(w, "tokenizer.ggml.model", "llama");
    kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    // Vocabulary: <unk> <s> </s>, the 256 byte pieces, SentencePiece's space "▁", then filler words
    // "▁tN". llama.cpp and vkllm read it alike: spaces escaped to "▁", other characters as bytes.
    key(w, "tokenizer.ggml.tokens", GGUF_ARRAY);
    put_u32(w, GGUF_STRING);
    put_u64(w, c->vocab_size);
    for (uint32_t i = 0; i < c->vocab_size; i++) {
        char piece[32];
        if (i < 3) snprintf(piece, sizeof piece, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
        else if (i < 259) snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        else if (i == 259) snprintf(piece, sizeof piece, "\xe2\x96\x81");  // the space, one token
        else snprintf(piece, sizeof piece, "\xe2\x96\x81t%u", i);
        put_string(w, piece);
    }
    // Token types as llama.cpp's converter writes them, so that both read the byte pieces as bytes
    // and <s>, </s> as control tokens.
    key(w, "tokenizer.ggml.token_type", GGUF_ARRAY);
    put_u32(w, GGUF_INT32);
    put_u64(w, c->vocab_size);
    for (uint32_t i = 0; i < c->vocab_size; i++) {
        int32_t type = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;  // unknown, control, byte, normal
        put(w, &type, 4);
    }
    key(w, "tokenizer.ggml.scores", GGUF_ARRAY);
    put_u32(w, GGUF_FLOAT32);
    put_u64(w, c->vocab_size);
    for (uint32_t i = 0; i < c->vocab_size; i++) {
        float score = -(float)i;
        put(w, &score, 4);
    }
}

// "<arch>.<key>"
static void kv_arch_u32(writer *w, const vkl_arch *a, const char *k, uint32_t v)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", a->name, k);
    kv_u32(w, full, v);
}

static void kv_arch_f32(writer *w, const vkl_arch *a, const char *k, float v)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", a->name, k);
    kv_f32(w, full, v);
}

// Multi-head latent attention's sizes as llama.cpp's converter writes them since its MLA
// support: one KV head, key_length the latent plus the RoPE key, value_length the latent, and
// the query/key and value head sizes as key_length_mla / value_length_mla.
static void write_mla_metadata(writer *w, const vkl_model_config *c, bool kv_b)
{
    const vkl_arch *a = c->arch;
    if (kv_b) {  // the older layout: every head its own K and V after decompression
        kv_arch_u32(w, a, "attention.head_count_kv", c->n_heads);
        kv_arch_u32(w, a, "attention.kv_lora_rank", c->kv_lora_rank);
        kv_arch_u32(w, a, "attention.q_lora_rank", c->q_lora_rank);
        kv_arch_u32(w, a, "attention.key_length", c->head_dim);
        kv_arch_u32(w, a, "attention.value_length", c->head_dim_v);
        kv_arch_u32(w, a, "rope.dimension_count", c->rope_dim);
        kv_arch_f32(w, a, "rope.scaling.yarn_log_multiplier", c->rope_yarn_log_mul);
        return;
    }
    kv_arch_u32(w, a, "attention.head_count_kv", 1);
    kv_arch_u32(w, a, "attention.kv_lora_rank", c->kv_lora_rank);
    kv_arch_u32(w, a, "attention.q_lora_rank", c->q_lora_rank);  // 0: attn_q (llama.cpp reads it always)
    kv_arch_u32(w, a, "attention.key_length", c->kv_lora_rank + c->rope_dim);
    kv_arch_u32(w, a, "attention.value_length", c->kv_lora_rank);
    kv_arch_u32(w, a, "attention.key_length_mla", c->head_dim);
    kv_arch_u32(w, a, "attention.value_length_mla", c->head_dim_v);
    kv_arch_u32(w, a, "rope.dimension_count", c->rope_dim);
    // YaRN's attention-scale term, which llama.cpp reads always (unused without YaRN)
    kv_arch_f32(w, a, "rope.scaling.yarn_log_multiplier", c->rope_yarn_log_mul);
}

// DeepSeek-style routing: expert width, shared experts, leading dense layers, softmax gating.
static void write_expert_metadata(writer *w, const vkl_model_config *c)
{
    const vkl_arch *a = c->arch;
    kv_arch_u32(w, a, "expert_count", c->n_experts);
    kv_arch_u32(w, a, "expert_used_count", c->n_experts_used);
    if (!c->expert_hidden_dim) return;
    char key_name[128];
    kv_arch_u32(w, a, "expert_feed_forward_length", c->expert_hidden_dim);
    kv_arch_u32(w, a, "expert_shared_count", c->n_shared_experts);
    kv_arch_u32(w, a, "leading_dense_block_count", c->dense_lead);
    kv_arch_f32(w, a, "expert_weights_scale", vkl_model_expert_scale(c));
    snprintf(key_name, sizeof key_name, "%s.expert_weights_norm", a->name);
    kv_bool(w, key_name, c->expert_weights_norm);
    kv_arch_u32(w, a, "expert_gating_func", 1);  // softmax
}

static void write_metadata(writer *w, const vkl_synthetic_model *m)
{
    const vkl_model_config *c = &m->config;
    const vkl_arch *a = c->arch;
    kv_string(w, "general.architecture", a->name);
    kv_string(w, "general.name", "vkllm synthetic");
    kv_u32(w, "general.alignment", ALIGNMENT);
    if (m->type) {
        kv_u32(w, "general.file_type", m->type->file_type);
        kv_u32(w, "general.quantization_version", 2);  // ggml's GGML_QNT_VERSION
    }
    kv_arch_u32(w, a, "context_length", c->context);
    kv_arch_u32(w, a, "embedding_length", c->dim);
    kv_arch_u32(w, a, "block_count", c->n_layers);
    kv_arch_u32(w, a, "feed_forward_length", c->hidden_dim);
    kv_arch_u32(w, a, "attention.head_count", c->n_heads);
    if (a->mla) {
        write_mla_metadata(w, c, m->mla_kv_b);
    } else {
        kv_arch_u32(w, a, "attention.head_count_kv", c->n_kv_heads);
        if (a->head_dim_key) {
            kv_arch_u32(w, a, "attention.key_length", c->head_dim);
            kv_arch_u32(w, a, "attention.value_length", c->head_dim);
        }
        if (!a->learned_positions) kv_arch_u32(w, a, "rope.dimension_count", c->head_dim);
    }
    if (!a->learned_positions) kv_arch_f32(w, a, "rope.freq_base", c->rope_base);
    if (c->rope_factor > 1.0f) {  // context extension: YaRN over an original context, or linear
        char type_key[128];
        snprintf(type_key, sizeof type_key, "%s.rope.scaling.type", a->name);
        kv_string(w, type_key, c->rope_yarn_context ? "yarn" : "linear");
        kv_arch_f32(w, a, "rope.scaling.factor", c->rope_factor);
        if (c->rope_yarn_context) kv_arch_u32(w, a, "rope.scaling.original_context_length", c->rope_yarn_context);
    }
    kv_arch_f32(w, a, a->eps_key, c->norm_eps);
    if (a->sliding_window_key)  // the whole context: no window
        kv_arch_u32(w, a, "attention.sliding_window", c->context);
    if (c->n_experts) write_expert_metadata(w, c);
    write_vocabulary(w, m);
}

// The values are drawn in f32 in chunks of whole blocks (rows are whole blocks, and CHUNK is a
// multiple of every block), then converted to the tensor's format.
static void write_tensor_data(writer *w, const tensor_plan *t, vkl_rng *rng)
{
    enum { CHUNK = 4096 };
    float values[CHUNK];
    uint8_t buffer[CHUNK * 4];
    uint64_t count = tensor_count(t);
    for (uint64_t done = 0; done < count && !w->failed;) {
        uint64_t n = count - done < CHUNK ? count - done : CHUNK, bytes = 0;
        for (uint64_t i = 0; i < n; i++)
            values[i] = t->scale < 0 ? 1.0f + vkl_rng_uniform(rng, -0.1f, 0.1f)
                                     : vkl_rng_uniform(rng, -t->scale, t->scale);
        vkl_format_file_bytes(t->format, n, &bytes);
        vkl_format_quantize(t->format, values, n, buffer);
        vkl_gguf_writer_data(w, buffer, bytes);
        done += n;
    }
    vkl_gguf_writer_end_tensor(w);
}

vkl_status vkl_write_synthetic_gguf(const char *path, const vkl_synthetic_model *m)
{
    tensor_plan *tensors = plan_tensors(m);
    size_t n = (size_t)arrlen(tensors);
    writer w;
    vkl_status status = vkl_gguf_writer_open(&w, path, n, ALIGNMENT);
    if (status != VKL_OK) {
        arrfree(tensors);
        return status;
    }
    write_metadata(&w, m);
    for (size_t i = 0; i < n; i++) {
        uint64_t ne[3];
        for (uint32_t d = 0; d < tensors[i].n_dims; d++) ne[d] = tensors[i].dims[tensors[i].n_dims - 1 - d];
        vkl_gguf_writer_tensor_info(&w, tensors[i].name, tensors[i].n_dims, ne, tensors[i].format->ggml_type,
                                    tensor_bytes(&tensors[i]));
    }
    vkl_rng rng;
    vkl_rng_seed(&rng, m->seed);
    for (size_t i = 0; i < n; i++) write_tensor_data(&w, &tensors[i], &rng);
    arrfree(tensors);
    return vkl_gguf_writer_close(&w);
}
