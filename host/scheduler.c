#include "host/scheduler.h"

#include <math.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/arch.h"
#include "host/check.h"
#include "host/dispatch.h"
#include "host/formats.h"
#include "host/kernels/attention.h"
#include "host/kernels/attention_mla.h"
#include "host/kernels/head_matmul.h"
#include "host/kernels/attn_qkv.h"
#include "host/kernels/embedding.h"
#include "host/kernels/ffn_gate_up.h"
#include "host/kernels/kv_append.h"
#include "host/kernels/matmul.h"
#include "host/kernels/moe.h"
#include "host/kernels/rope.h"
#include "host/ref.h"
#include "runtime/command.h"

enum {
    ACT_X, ACT_XB, ACT_XB2, ACT_Q, ACT_K, ACT_V, ACT_HB, ACT_HB2, ACT_PARTIALS, ACT_TABLE,
    // multi-head latent attention only: the rotated queries, the query's low-rank step, the
    // absorbed queries and the latent outputs (K holds the latent, V the RoPE key)
    ACT_Q_ROPE, ACT_Q_A, ACT_Q_LAT, ACT_O_LAT,
    // MoE blocks only: the moe kernel's tensors (host/kernels/moe.c)
    ACT_ROUTER, ACT_PROBS, ACT_IDS, ACT_WEIGHTS, ACT_OFFSETS, ACT_PERM, ACT_INV, ACT_TILES, ACT_GATE, ACT_UP,
    ACT_HIDDEN, ACT_Y, ACT_COUNT
};

// Prompt tokens per prefill batch; activations hold this many rows. GPUs take 512: on an H100
// that doubled Llama-2-7B's prefill (pp512, 4 layers, f16: 6,919 -> 13,515 tokens/s), M = 512
// being where 128 x 128 GEMM tiles fill the GPU (vkl_matmul_variant). CPU devices keep 128.
#define PREFILL_MAX_GPU 512u
#define PREFILL_MAX_CPU 128u

// One kernel run (or, with c.kernel NULL, one buffer copy) of a planned forward pass.
typedef struct plan_step {
    vkl_case c;
    vkl_binding tensors[VKL_MAX_TENSORS];
    const vkl_buffer *copy_src, *copy_dst;
    uint64_t copy_offset, copy_bytes;
    uint32_t cmd;       // command buffer: 0 embedding, 1 + layer, n_layers + 1 head
    const char *label;  // what the step computes, e.g. "attn_q"
} plan_step;

struct vkl_scheduler {
    vkl_device *device;
    const vkl_model *model;
    vkl_model_config cfg;
    uint32_t context;
    vkl_pipeline_set *pipelines;
    vkl_buffer *weights;                   // (model tensors), device-local
    vkl_buffer act[ACT_COUNT];             // activations, device-local
    vkl_buffer *k_cache, *v_cache;         // (n_layers)
    vkl_buffer *moe_counts, *moe_prob;     // (n_layers) host-visible: per-expert counts, mean probability
    vkl_buffer token, pos, logits, status;  // host-visible
    vkl_buffer positions;                  // host-visible: each row's position (learned position embeddings)
    uint32_t rows;                         // rows of the activation buffers: see activation_rows
    vkl_cmd **cmds;                        // decode (M = 1): embedding, layers, head
    vkl_cmd **prefill;                     // the same for a batch of prefill_rows prompt tokens
    uint32_t cmd_count, prefill_rows;
    bool timing;                           // passes are bracketed by timestamps (gpu_us)
    VkFence fence;
    vkl_scheduler_memory memory;
    vkl_moe_stats moe_stats;
    vkl_checker *checker;                  // --validate only, created on first use
    char fault[128];                       // tests: "kernel/variant:fault_variant" to swap in
};

static vkl_binding whole(const vkl_buffer *b) { return (vkl_binding){ b, 0, b->size }; }

// Multi-head latent attention's activations (the K and V rows hold the latent and RoPE key).
static void mla_sizes(const vkl_model_config *c, uint64_t rows, uint32_t context, uint64_t sizes[ACT_COUNT])
{
    if (!c->arch->mla) return;
    uint64_t H = c->n_heads, lat = c->kv_lora_rank, partials = vkl_attention_mla_partials((uint32_t)rows, c->n_heads,
                                                                                           c->kv_lora_rank, context);
    sizes[ACT_K] = rows * lat;
    sizes[ACT_V] = rows * c->rope_dim;
    sizes[ACT_Q_ROPE] = rows * H * c->rope_dim;
    sizes[ACT_Q_A] = rows * c->q_lora_rank;
    sizes[ACT_Q_LAT] = sizes[ACT_O_LAT] = rows * H * lat;
    if (partials > sizes[ACT_PARTIALS]) sizes[ACT_PARTIALS] = partials;
}

// Bytes of one layer's K and V cache rows a position (f32; host/model.h's rows).
static void cache_row_bytes(const vkl_model_config *c, uint64_t *k, uint64_t *v)
{
    uint32_t k_row, v_row;
    vkl_model_cache_rows(c, &k_row, &v_row);
    *k = (uint64_t)k_row * 4;
    *v = (uint64_t)v_row * 4;
}

// Element counts of the activation buffers for `rows` rows and `context` positions.
static void activation_sizes(const vkl_model_config *c, uint64_t rows, uint32_t context, uint64_t sizes[ACT_COUNT])
{
    uint64_t d = c->dim, kv = (uint64_t)c->n_kv_heads * c->head_dim, h = c->hidden_dim, e = c->n_experts;
    uint64_t q = (uint64_t)c->n_heads * c->head_dim, routed = rows * c->n_experts_used;
    uint64_t chunks = vkl_attention_max_chunks(context);
    memset(sizes, 0, ACT_COUNT * sizeof sizes[0]);
    sizes[ACT_X] = sizes[ACT_XB2] = rows * d;
    sizes[ACT_Q] = rows * q;
    sizes[ACT_XB] = rows * (q > d ? q : d);  // the attention's output too
    sizes[ACT_K] = sizes[ACT_V] = rows * kv;
    sizes[ACT_PARTIALS] = (uint64_t)c->n_heads * chunks * (c->head_dim + 2);
    sizes[ACT_TABLE] = (uint64_t)context * c->rope_dim;
    mla_sizes(c, rows, context, sizes);
    // dense layers, or the shared experts' FFN
    uint64_t shared = (uint64_t)c->n_shared_experts * c->expert_hidden_dim;
    if (!e || c->dense_lead || shared) sizes[ACT_HB] = sizes[ACT_HB2] = rows * (h > shared ? h : shared);
    if (!e) return;
    h = vkl_model_expert_width(c);
    sizes[ACT_ROUTER] = sizes[ACT_PROBS] = rows * e;
    sizes[ACT_IDS] = sizes[ACT_WEIGHTS] = sizes[ACT_PERM] = sizes[ACT_INV] = routed;
    sizes[ACT_OFFSETS] = e + 1;
    // one-row tiles (decode through the row blocks), the most a tile map may hold
    sizes[ACT_TILES] = 2ull * vkl_moe_max_tiles((uint32_t)rows, c->n_experts_used, c->n_experts, 1);
    sizes[ACT_GATE] = sizes[ACT_UP] = sizes[ACT_HIDDEN] = routed * h;
    sizes[ACT_Y] = routed * d;
}

static uint32_t activation_rows(const vkl_device_info *info, uint32_t context)
{
    uint32_t most = vkl_device_prefers_texel_reads(info) ? PREFILL_MAX_CPU : PREFILL_MAX_GPU;
    return context < most ? context : most;
}

vkl_scheduler_memory vkl_scheduler_memory_needed(const vkl_device_info *info, const vkl_model *model, uint32_t context)
{
    const vkl_model_config *c = &model->config;
    vkl_scheduler_memory m = { 0 };
    for (ptrdiff_t i = 0; i < arrlen(model->tensors); i++)
        m.weights += (vkl_dtype_bytes(model->tensors[i].dtype, model->tensors[i].count) + 15) & ~15ull;
    uint64_t k_row, v_row;
    cache_row_bytes(c, &k_row, &v_row);
    m.kv_cache = (uint64_t)c->n_layers * context * (k_row + v_row);
    uint64_t sizes[ACT_COUNT];
    activation_sizes(c, activation_rows(info, context), context, sizes);
    for (int i = 0; i < ACT_COUNT; i++) m.scratch += sizes[i] * 4;
    return m;
}

// The largest weight tensor one binding may span: maxStorageBufferRange, or where weights are
// read through texels, the texel-buffer limit (larger on lavapipe: 2 GiB against 128 MiB).
// A kernel that still binds such a tensor as a storage buffer fails at recording, naming it.
static uint64_t max_weight_binding(const vkl_device_info *info)
{
    uint64_t texel = 16ull * info->max_texel_buffer_elements;
    if (vkl_device_prefers_texel_reads(info) && texel > info->max_storage_buffer_range) return texel;
    return info->max_storage_buffer_range;
}

// A tensor's bytes as the kernels read them: f32 and f16 as in the file, quantized formats
// repacked into their planes.
static vkl_status upload_tensor(vkl_scheduler *s, const vkl_model_tensor *t, vkl_buffer *b)
{
    if (!vkl_dtype_is_quantized(t->dtype)) return vkl_buffer_upload(s->device, b, 0, t->data, t->bytes);
    uint64_t bytes = vkl_dtype_bytes(t->dtype, t->count);
    uint8_t *device = malloc(bytes);
    if (!device) return VKL_ERR_OUT_OF_MEMORY;
    vkl_format_repack(vkl_format_of(t->dtype), t->data, t->count, device);
    vkl_status status = vkl_buffer_upload(s->device, b, 0, device, bytes);
    free(device);
    return status;
}

static vkl_status upload_weights(vkl_scheduler *s)
{
    const vkl_model *m = s->model;
    s->weights = calloc((size_t)arrlen(m->tensors), sizeof *s->weights);
    if (!s->weights) return VKL_ERR_OUT_OF_MEMORY;
    for (ptrdiff_t i = 0; i < arrlen(m->tensors); i++) {
        const vkl_model_tensor *t = &m->tensors[i];
        // whole 16-byte texels, for kernels that read texels; quantized tensors in their device
        // layout (host/formats.h)
        uint64_t size = (vkl_dtype_bytes(t->dtype, t->count) + 15) & ~15ull;
        uint64_t limit = max_weight_binding(s->device->info);
        if (size > limit) {
            vkl_log_error("%s: tensor %s (%llu bytes) exceeds the %llu bytes one binding may span on this device", m->path,
                          t->name, (unsigned long long)size, (unsigned long long)limit);
            return VKL_ERR_UNSUPPORTED;
        }
        VKL_TRY(vkl_buffer_create(s->device, size, &s->weights[i]));
        VKL_TRY(upload_tensor(s, t, &s->weights[i]));
        s->memory.weights += size;
    }
    return VKL_OK;
}

static vkl_status create_device_buffer(vkl_scheduler *s, vkl_buffer *b, uint64_t bytes, uint64_t *counter)
{
    VKL_TRY(vkl_buffer_create(s->device, bytes, b));
    *counter += bytes;
    return VKL_OK;
}

static vkl_status create_rope_table(vkl_scheduler *s, uint64_t count)
{
    float *table = malloc(count * sizeof *table);
    if (!table) return VKL_ERR_OUT_OF_MEMORY;
    vkl_rope_params rope = vkl_model_rope(&s->cfg);
    vkl_rope_table(table, s->context, s->cfg.rope_dim, &rope);
    vkl_status status = vkl_buffer_upload(s->device, &s->act[ACT_TABLE], 0, table, count * 4);
    free(table);
    return status;
}

// KV caches start zeroed, so --validate never reads uninitialised memory.
static vkl_status create_caches(vkl_scheduler *s)
{
    const vkl_model_config *c = &s->cfg;
    uint64_t k_row, v_row;
    cache_row_bytes(c, &k_row, &v_row);
    s->k_cache = calloc(c->n_layers, sizeof *s->k_cache);
    s->v_cache = calloc(c->n_layers, sizeof *s->v_cache);
    if (!s->k_cache || !s->v_cache) return VKL_ERR_OUT_OF_MEMORY;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        VKL_TRY(create_device_buffer(s, &s->k_cache[l], s->context * k_row, &s->memory.kv_cache));
        VKL_TRY(create_device_buffer(s, &s->v_cache[l], s->context * v_row, &s->memory.kv_cache));
        VKL_TRY(vkl_zero_buffer_now(s->device, &s->k_cache[l]));
        VKL_TRY(vkl_zero_buffer_now(s->device, &s->v_cache[l]));
    }
    return VKL_OK;
}

static vkl_status create_moe_state(vkl_scheduler *s)
{
    const vkl_model_config *c = &s->cfg;
    if (!c->n_experts) return VKL_OK;
    VKL_TRY(vkl_moe_stats_init(&s->moe_stats, c));
    s->moe_counts = calloc(c->n_layers, sizeof *s->moe_counts);
    s->moe_prob = calloc(c->n_layers, sizeof *s->moe_prob);
    if (!s->moe_counts || !s->moe_prob) return VKL_ERR_OUT_OF_MEMORY;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        VKL_TRY(vkl_buffer_create_host(s->device, 4ull * c->n_experts, &s->moe_counts[l]));
        VKL_TRY(vkl_buffer_create_host(s->device, 4ull * c->n_experts, &s->moe_prob[l]));
    }
    return VKL_OK;
}

static vkl_status create_state(vkl_scheduler *s)
{
    uint64_t sizes[ACT_COUNT];
    activation_sizes(&s->cfg, s->rows, s->context, sizes);
    for (int i = 0; i < ACT_COUNT; i++)
        if (sizes[i]) VKL_TRY(create_device_buffer(s, &s->act[i], sizes[i] * 4, &s->memory.scratch));
    VKL_TRY(create_rope_table(s, sizes[ACT_TABLE]));
    VKL_TRY(create_caches(s));
    VKL_TRY(create_moe_state(s));
    VKL_TRY(vkl_buffer_create_host(s->device, 4ull * s->rows, &s->token));
    VKL_TRY(vkl_buffer_create_host(s->device, 4ull * s->rows, &s->positions));
    VKL_TRY(vkl_buffer_create_host(s->device, 16, &s->pos));
    VKL_TRY(vkl_buffer_create_host(s->device, 16, &s->status));
    VKL_TRY(vkl_buffer_create_host(s->device, (uint64_t)s->cfg.vocab_size * 4, &s->logits));
    memset(s->status.mapped, 0, 16);
    return VKL_OK;
}

// ---------------------------------------------------------------- the plan

typedef struct plan {
    vkl_scheduler *s;
    plan_step *steps;  // stb_ds array
    uint32_t M;        // rows of this pass
    int64_t pos;       // position of the first row; -1 while recording (read from s->pos)
    uint32_t cmd;      // command buffer the next steps go to
    bool ok;
} plan;

// The device buffer of tensor `name` (layer `layer` when >= 0) and its type.
static const vkl_buffer *weight(const vkl_scheduler *s, int layer, const char *name, vkl_dtype *dtype)
{
    const vkl_model_tensor *t = vkl_model_find_layer(s->model, layer, name, NULL);
    if (!t) return NULL;
    if (dtype) *dtype = t->dtype;
    return &s->weights[t - s->model->tensors];
}

static void add_kernel(plan *p, const char *label, const char *kernel, const char *variant, const uint32_t *dims,
                       const vkl_binding *tensors, uint32_t count, float scalar)
{
    plan_step step = { .cmd = p->cmd, .label = label };
    char swap[128];
    snprintf(swap, sizeof swap, "%s/%s:", kernel, variant);
    if (p->s->fault[0] && strncmp(p->s->fault, swap, strlen(swap)) == 0) variant = p->s->fault + strlen(swap);
    if (!vkl_case_make(&step.c, kernel, variant, dims)) {
        p->ok = false;
        return;
    }
    step.c.scalar = scalar;
    memcpy(step.tensors, tensors, count * sizeof *tensors);
    arrput(p->steps, step);
}

// RMSNorm of `rows` rows of `width` values of x into y with weight w_name (the model's width;
// QK-norm's heads; MLA's latent and low-rank query).
static void add_rms_norm_rows(plan *p, const char *label, uint32_t rows, uint32_t width, const vkl_buffer *x, int layer,
                              const char *w_name, const vkl_buffer *y)
{
    uint32_t dims[2] = { rows, width };
    vkl_binding t[3] = { whole(x), whole(weight(p->s, layer, w_name, NULL)), whole(y) };
    add_kernel(p, label, "rms_norm", vkl_f32_variant(p->s->device->info, width), dims, t, 3, p->s->cfg.norm_eps);
}

static void add_rms_norm(plan *p, const char *label, uint32_t M, const vkl_buffer *x, int layer, const char *w_name,
                         const vkl_buffer *y)
{
    add_rms_norm_rows(p, label, M, p->s->cfg.dim, x, layer, w_name, y);
}

// The architecture's norm of M rows: RMSNorm (w_name), or LayerNorm (w_name and b_name).
static void add_norm(plan *p, const char *label, uint32_t M, const vkl_buffer *x, int layer, const char *w_name,
                     const char *b_name, const vkl_buffer *y)
{
    if (p->s->cfg.arch->norm == VKL_NORM_RMS) return add_rms_norm(p, label, M, x, layer, w_name, y);
    uint32_t dims[2] = { M, p->s->cfg.dim };
    vkl_binding t[4] = { whole(x), whole(weight(p->s, layer, w_name, NULL)), whole(weight(p->s, layer, b_name, NULL)),
                         whole(y) };
    add_kernel(p, label, "layer_norm", "f32", dims, t, 4, p->s->cfg.norm_eps);
}

// y (M, N) = x (M, K) . W (N, K)T: GEMV for one row, tiled GEMM for a batch.
static void add_matmul(plan *p, uint32_t M, const vkl_buffer *x, int layer, const char *name, const vkl_buffer *y,
                       uint32_t N, uint32_t K)
{
    vkl_dtype dtype = VKL_DTYPE_F32;  // set by weight() when the tensor exists
    const vkl_buffer *w = weight(p->s, layer, name, &dtype);
    uint32_t dims[3] = { M, N, K };
    vkl_binding t[3] = { whole(x), whole(w), whole(y) };
    const char *variant = vkl_matmul_variant_typed(p->s->device->info, M, K, dtype, false);
    if (!variant) {  // vkl_model_add_tensor checked whole blocks along rows, so this is a bug
        vkl_log_error("%s: %s: no matmul variant for %s weights with K = %u", p->s->model->path, name,
                      vkl_format_of(dtype)->name, K);
        p->ok = false;
        return;
    }
    add_kernel(p, name, "matmul", variant, dims, t, 3, 0.0f);
}

// The matmul, then the bias `b_name` on every row when the file has it.
static void add_linear(plan *p, uint32_t M, const vkl_buffer *x, int layer, const char *w_name, const char *b_name,
                       const vkl_buffer *y, uint32_t N, uint32_t K)
{
    add_matmul(p, M, x, layer, w_name, y, N, K);
    const vkl_buffer *b = weight(p->s, layer, b_name, NULL);
    if (!b) return;
    uint32_t dims[2] = { M, N };
    vkl_binding t[3] = { whole(y), whole(b), whole(y) };
    add_kernel(p, b_name, "bias_add", "f32", dims, t, 3, 0.0f);
}

static void add_residual(plan *p, const char *label, const vkl_buffer *x, const vkl_buffer *delta)
{
    uint32_t n = p->M * p->s->cfg.dim;
    vkl_binding t[3] = { whole(x), whole(delta), whole(x) };
    add_kernel(p, label, "add", vkl_f32_variant(p->s->device->info, n), &n, t, 3, 0.0f);
}

// residual (M, N) += x (M, K) . W (N, K)T [+ b]: one fused GEMV dispatch for one row without a
// bias (decode, where dispatch cost counts most); else the matmul into `scratch`, the bias, the add.
static void add_projection_residual(plan *p, const char *add_label, uint32_t M, const vkl_buffer *x, int layer,
                                    const char *name, const char *b_name, const vkl_buffer *scratch,
                                    const vkl_buffer *residual, uint32_t N, uint32_t K)
{
    vkl_dtype dtype = VKL_DTYPE_F32;  // set by weight() when the tensor exists
    const vkl_buffer *w = weight(p->s, layer, name, &dtype);
    const char *fused = vkl_matmul_variant_typed(p->s->device->info, M, K, dtype, true);
    if (!fused || weight(p->s, layer, b_name, NULL)) {
        add_linear(p, M, x, layer, name, b_name, scratch, N, K);
        add_residual(p, add_label, residual, scratch);
        return;
    }
    uint32_t dims[3] = { M, N, K };
    vkl_binding t[3] = { whole(x), whole(w), whole(residual) };
    add_kernel(p, name, "matmul", fused, dims, t, 3, 0.0f);
}

// Whether attn_qkv's fused input (RMSNorm, Q, K, V without biases, RoPE, the cache append)
// is this architecture's attention input.
static bool qkv_fusable(const vkl_scheduler *s, uint32_t l)
{
    const vkl_model_config *c = &s->cfg;
    return c->arch->norm == VKL_NORM_RMS && !c->arch->learned_positions && !c->arch->qk_norm &&
           c->n_heads * c->head_dim == c->dim && !weight(s, (int)l, "attn_q.bias", NULL) &&
           !weight(s, (int)l, "attn_k.bias", NULL) && !weight(s, (int)l, "attn_v.bias", NULL);
}

// The attention block's input as attn_qkv fuses it (decode): the norm, the Q, K
// and V projections, rope and the cache append in one dispatch. False where it does not apply.
static bool add_fused_qkv(plan *p, uint32_t l, uint32_t p0)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t d = c->dim, kv = c->n_kv_heads * c->head_dim;
    vkl_dtype type = VKL_DTYPE_F32, k_type = VKL_DTYPE_F32, v_type = VKL_DTYPE_F32;
    const vkl_buffer *wq = weight(s, (int)l, "attn_q.weight", &type);
    weight(s, (int)l, "attn_k.weight", &k_type);
    weight(s, (int)l, "attn_v.weight", &v_type);
    // One kernel variant reads all three matrices in one format; mixed files (Q4_K_M gives
    // attn_v more bits in some layers) take the separate steps.
    if (!qkv_fusable(s, l) || k_type != type || v_type != type) return false;
    const char *fused = vkl_attn_qkv_variant(s->device->info, p->M, d, kv, d, c->head_dim, c->arch->rope_neox, type);
    if (!fused) return false;
    uint32_t dims[8] = { p->M, d, kv, d, c->head_dim, c->rope_dim, p0, s->context };
    vkl_binding t[10] = { whole(&a[ACT_X]), whole(wq), whole(&a[ACT_Q]),
                          whole(weight(s, (int)l, "attn_k.weight", NULL)), whole(&s->k_cache[l]),
                          whole(weight(s, (int)l, "attn_v.weight", NULL)), whole(&s->v_cache[l]),
                          whole(weight(s, (int)l, "attn_norm.weight", NULL)), whole(&s->pos), whole(&a[ACT_TABLE]) };
    add_kernel(p, "attn_qkv", "attn_qkv", fused, dims, t, 10, c->norm_eps);
    return true;
}

// QK-norm: RMSNorm of each query head and each key head (rows of head_dim), in place.
static void add_qk_norm(plan *p, uint32_t l)
{
    const vkl_model_config *c = &p->s->cfg;
    vkl_buffer *a = p->s->act;
    add_rms_norm_rows(p, "attn_q_norm", p->M * c->n_heads, c->head_dim, &a[ACT_Q], (int)l, "attn_q_norm.weight", &a[ACT_Q]);
    add_rms_norm_rows(p, "attn_k_norm", p->M * c->n_kv_heads, c->head_dim, &a[ACT_K], (int)l, "attn_k_norm.weight",
                      &a[ACT_K]);
}

// The attention block's input step by step: norm, Q, K and V projections (with their biases),
// QK-norm, rope, cache append.
static void add_qkv_steps(plan *p, uint32_t l, uint32_t p0)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t M = p->M, d = c->dim, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    // While recording, the positions come from s->pos; P then only sizes the rope table (at
    // `context` rows). Validation passes the real position, which the references read.
    uint32_t rope_p = p->pos < 0 ? s->context - M : p0;
    add_norm(p, "attn_norm", M, &a[ACT_X], (int)l, "attn_norm.weight", "attn_norm.bias", &a[ACT_XB]);
    add_linear(p, M, &a[ACT_XB], (int)l, "attn_q.weight", "attn_q.bias", &a[ACT_Q], q, d);
    add_linear(p, M, &a[ACT_XB], (int)l, "attn_k.weight", "attn_k.bias", &a[ACT_K], kv, d);
    add_linear(p, M, &a[ACT_XB], (int)l, "attn_v.weight", "attn_v.bias", &a[ACT_V], kv, d);
    if (c->arch->qk_norm) add_qk_norm(p, l);
    if (!c->arch->learned_positions) {
        uint32_t rope[8] = { M, c->n_heads, c->n_kv_heads, c->head_dim, c->rope_dim, (uint32_t)c->rope_base, rope_p,
                             c->rope_yarn_context };
        vkl_binding rt[4] = { whole(&a[ACT_Q]), whole(&a[ACT_K]), whole(&s->pos), whole(&a[ACT_TABLE]) };
        add_kernel(p, "rope", "rope", vkl_rope_variant(s->device->info, c->head_dim, c->rope_dim, c->arch->rope_neox), rope,
                   rt, 4, c->rope_factor);
    }
    uint32_t append[6] = { M, c->n_kv_heads, c->head_dim, p0, s->context, 0 };
    vkl_binding at[5] = { whole(&a[ACT_K]), whole(&a[ACT_V]), whole(&s->k_cache[l]), whole(&s->v_cache[l]),
                          whole(&s->pos) };
    add_kernel(p, "kv_append", "kv_append", vkl_kv_append_variant(s->device->info, kv, kv, false), append,
               at, 5, 0.0f);
}

static void plan_attention(plan *p, uint32_t l)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t M = p->M, d = c->dim, q = c->n_heads * c->head_dim;
    uint32_t p0 = p->pos < 0 ? 0 : (uint32_t)p->pos;
    if (!add_fused_qkv(p, l, p0)) add_qkv_steps(p, l, p0);
    uint32_t attn[6] = { M, c->n_heads, c->n_kv_heads, c->head_dim, p0, s->context };
    vkl_binding tt[6] = { whole(&a[ACT_Q]), whole(&s->k_cache[l]), whole(&s->v_cache[l]), whole(&s->pos),
                          whole(&a[ACT_XB]), whole(&a[ACT_PARTIALS]) };
    add_kernel(p, "attention", "attention", vkl_attention_variant(s->device->info, M, c->head_dim, false), attn, tt, 6,
               0.0f);
    add_projection_residual(p, "attn_residual", M, &a[ACT_XB], (int)l, "attn_output.weight", "attn_output.bias",
                            &a[ACT_XB2], &a[ACT_X], d, q);
}

// y (M, H, N) = W[h] x (M, H, K) per head h (MLA's up-projections); false where head_matmul does
// not take the weights (the loader makes them f32 or f16).
static void add_head_matmul(plan *p, const char *label, const vkl_buffer *x, int layer, const char *name,
                            const vkl_buffer *y, uint32_t N, uint32_t K)
{
    vkl_dtype dtype = VKL_DTYPE_F32;
    const vkl_buffer *w = weight(p->s, layer, name, &dtype);
    const char *variant = vkl_head_matmul_variant(p->s->device->info, dtype, K);
    if (!variant) {
        vkl_log_error("%s: blk.%d.%s: per-head matrices need f32 or f16 and widths in fours", p->s->model->path, layer,
                      name);
        p->ok = false;
        return;
    }
    uint32_t dims[4] = { p->M, p->s->cfg.n_heads, N, K };
    vkl_binding t[3] = { whole(x), whole(w), whole(y) };
    add_kernel(p, label, "head_matmul", variant, dims, t, 3, 0.0f);
}

// Multi-head latent attention's input: the query (through its low-rank step where the model has
// one) as nope and rope parts, the latent (normalised) and the RoPE key, rope, the cache append.
static void add_mla_input(plan *p, uint32_t l, uint32_t p0)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t M = p->M, d = c->dim, H = c->n_heads, r = c->rope_dim, nope = c->head_dim - r, lat = c->kv_lora_rank;
    uint32_t rope_p = p->pos < 0 ? s->context - M : p0;  // as add_qkv_steps
    const vkl_buffer *q_in = &a[ACT_XB];
    add_norm(p, "attn_norm", M, &a[ACT_X], (int)l, "attn_norm.weight", "attn_norm.bias", &a[ACT_XB]);
    if (c->q_lora_rank) {
        add_matmul(p, M, &a[ACT_XB], (int)l, "attn_q_a.weight", &a[ACT_Q_A], c->q_lora_rank, d);
        add_rms_norm_rows(p, "attn_q_a_norm", M, c->q_lora_rank, &a[ACT_Q_A], (int)l, "attn_q_a_norm.weight", &a[ACT_Q_A]);
        q_in = &a[ACT_Q_A];
    }
    uint32_t in = c->q_lora_rank ? c->q_lora_rank : d;
    add_matmul(p, M, q_in, (int)l, "attn_q_nope.weight", &a[ACT_Q], H * nope, in);
    add_matmul(p, M, q_in, (int)l, "attn_q_rope.weight", &a[ACT_Q_ROPE], H * r, in);
    add_matmul(p, M, &a[ACT_XB], (int)l, "attn_kv_a.weight", &a[ACT_K], lat, d);
    add_matmul(p, M, &a[ACT_XB], (int)l, "attn_k_rope.weight", &a[ACT_V], r, d);
    add_rms_norm_rows(p, "attn_kv_a_norm", M, lat, &a[ACT_K], (int)l, "attn_kv_a_norm.weight", &a[ACT_K]);
    uint32_t rope[8] = { M, H, 1, r, r, (uint32_t)c->rope_base, rope_p, c->rope_yarn_context };
    vkl_binding rt[4] = { whole(&a[ACT_Q_ROPE]), whole(&a[ACT_V]), whole(&s->pos), whole(&a[ACT_TABLE]) };
    add_kernel(p, "rope", "rope", vkl_rope_variant(s->device->info, r, r, c->arch->rope_neox), rope, rt, 4,
               c->rope_factor);
    uint32_t append[6] = { M, 1, lat, p0, s->context, r };  // the latent as K, the RoPE key as V
    vkl_binding at[5] = { whole(&a[ACT_K]), whole(&a[ACT_V]), whole(&s->k_cache[l]), whole(&s->v_cache[l]),
                          whole(&s->pos) };
    add_kernel(p, "kv_append", "kv_append", vkl_kv_append_variant(s->device->info, lat, r, false), append, at, 5, 0.0f);
}

// Multi-head latent attention (host/archs/deepseek2.c): the input, the absorbed query, attention
// over the latent cache, the value up-projection, the output projection and residual.
static void plan_mla_attention(plan *p, uint32_t l)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t M = p->M, H = c->n_heads, r = c->rope_dim, nope = c->head_dim - r, lat = c->kv_lora_rank;
    uint32_t p0 = p->pos < 0 ? 0 : (uint32_t)p->pos;
    if (!vkl_attention_mla_fits(M, H, lat, r)) {
        vkl_log_error("%s: multi-head latent attention of %u heads, latent %u, RoPE key %u is beyond its kernel",
                      s->model->path, H, lat, r);
        p->ok = false;
        return;
    }
    add_mla_input(p, l, p0);
    add_head_matmul(p, "attn_k_b", &a[ACT_Q], (int)l, "attn_k_b.weight", &a[ACT_Q_LAT], lat, nope);
    uint32_t attn[6] = { M, H, lat, r, p0, s->context };
    vkl_binding tt[7] = { whole(&a[ACT_Q_LAT]), whole(&a[ACT_Q_ROPE]), whole(&s->k_cache[l]), whole(&s->v_cache[l]),
                          whole(&s->pos), whole(&a[ACT_O_LAT]), whole(&a[ACT_PARTIALS]) };
    add_kernel(p, "attention", "attention_mla", "f32", attn, tt, 7, (float)vkl_model_attention_scale(c));
    add_head_matmul(p, "attn_v_b", &a[ACT_O_LAT], (int)l, "attn_v_b.weight", &a[ACT_XB], c->head_dim_v, lat);
    add_projection_residual(p, "attn_residual", M, &a[ACT_XB], (int)l, "attn_output.weight", "attn_output.bias",
                            &a[ACT_XB2], &a[ACT_X], c->dim, H * c->head_dim_v);
}

// ffn_gate_up's fused input (RMSNorm, gate and up without biases, SwiGLU) for one format, or NULL.
static const char *fused_gate_up_variant(const plan *p, uint32_t l)
{
    const vkl_scheduler *s = p->s;
    vkl_dtype type = VKL_DTYPE_F32, up_type = VKL_DTYPE_F32;
    weight(s, (int)l, "ffn_gate.weight", &type);
    weight(s, (int)l, "ffn_up.weight", &up_type);
    if (s->cfg.arch->norm != VKL_NORM_RMS || s->cfg.arch->ffn != VKL_FFN_SWIGLU || up_type != type ||
        weight(s, (int)l, "ffn_gate.bias", NULL) || weight(s, (int)l, "ffn_up.bias", NULL))
        return NULL;
    return vkl_ffn_gate_up_variant(s->device->info, p->M, s->cfg.dim, type);
}

// HB = silu(XB Wgate + bgate) * (XB Wup + bup), `width` wide (the biases where the file has
// them): a dense SwiGLU FFN's or the shared experts' first half, step by step. Names and label
// are string literals (steps keep them).
static void add_swiglu_steps(plan *p, uint32_t l, const char *gate_w, const char *gate_b, const char *up_w,
                             const char *up_b, const char *label, uint32_t width)
{
    vkl_buffer *a = p->s->act;
    uint32_t M = p->M, d = p->s->cfg.dim, n = M * width;
    add_linear(p, M, &a[ACT_XB], (int)l, gate_w, gate_b, &a[ACT_HB], width, d);
    add_linear(p, M, &a[ACT_XB], (int)l, up_w, up_b, &a[ACT_HB2], width, d);
    vkl_binding act[3] = { whole(&a[ACT_HB]), whole(&a[ACT_HB2]), whole(&a[ACT_HB]) };
    add_kernel(p, label, "swiglu", vkl_f32_variant(p->s->device->info, n), &n, act, 3, 0.0f);
}

static void plan_dense_ffn(plan *p, uint32_t l)
{
    vkl_buffer *a = p->s->act;
    uint32_t M = p->M, d = p->s->cfg.dim, h = p->s->cfg.hidden_dim, nh = M * h;
    const char *fused = fused_gate_up_variant(p, l);
    if (fused) {  // one dispatch instead of four
        uint32_t dims[3] = { M, h, d };
        vkl_binding t[5] = { whole(&a[ACT_X]), whole(weight(p->s, (int)l, "ffn_gate.weight", NULL)), whole(&a[ACT_HB]),
                             whole(weight(p->s, (int)l, "ffn_up.weight", NULL)),
                             whole(weight(p->s, (int)l, "ffn_norm.weight", NULL)) };
        add_kernel(p, "ffn_gate_up", "ffn_gate_up", fused, dims, t, 5, p->s->cfg.norm_eps);
    } else if (p->s->cfg.arch->ffn == VKL_FFN_GELU) {
        add_norm(p, "ffn_norm", M, &a[ACT_X], (int)l, "ffn_norm.weight", "ffn_norm.bias", &a[ACT_XB]);
        add_linear(p, M, &a[ACT_XB], (int)l, "ffn_up.weight", "ffn_up.bias", &a[ACT_HB], h, d);
        vkl_binding act[2] = { whole(&a[ACT_HB]), whole(&a[ACT_HB]) };
        add_kernel(p, "ffn_gelu", "gelu", vkl_f32_variant(p->s->device->info, nh), &nh, act, 2, 0.0f);
    } else {
        add_norm(p, "ffn_norm", M, &a[ACT_X], (int)l, "ffn_norm.weight", "ffn_norm.bias", &a[ACT_XB]);
        add_swiglu_steps(p, l, "ffn_gate.weight", "ffn_gate.bias", "ffn_up.weight", "ffn_up.bias", "ffn_swiglu", h);
    }
    add_projection_residual(p, "ffn_residual", M, &a[ACT_HB], (int)l, "ffn_down.weight", "ffn_down.bias", &a[ACT_XB],
                            &a[ACT_X], d, h);
}

// Router matmul, then the moe kernel (route, count, grouped expert matmuls, combine); Mixtral
// renormalises the top-k weights. Counts and mean probabilities land in host-visible buffers.
static void plan_moe_ffn(plan *p, uint32_t l)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    add_matmul(p, p->M, &a[ACT_XB], (int)l, "ffn_gate_inp.weight", &a[ACT_ROUTER], c->n_experts, c->dim);
    vkl_dtype type = VKL_DTYPE_F32, down = VKL_DTYPE_F32;
    const vkl_buffer *gate = weight(s, (int)l, "ffn_gate_exps.weight", &type);
    weight(s, (int)l, "ffn_down_exps.weight", &down);
    uint32_t width = vkl_model_expert_width(c);
    uint32_t dims[8] = { p->M, c->dim, width, c->n_experts, c->n_experts_used, c->expert_weights_norm, 0,
                         down != type ? vkl_format_of(down)->ggml_type : 0 };
    vkl_binding t[] = {
        whole(&a[ACT_XB]), whole(&a[ACT_ROUTER]), whole(gate), whole(weight(s, (int)l, "ffn_up_exps.weight", NULL)),
        whole(weight(s, (int)l, "ffn_down_exps.weight", NULL)), whole(&a[ACT_XB2]), whole(&a[ACT_IDS]),
        whole(&a[ACT_WEIGHTS]), whole(&s->moe_counts[l]), whole(&s->moe_prob[l]), whole(&a[ACT_PROBS]),
        whole(&a[ACT_OFFSETS]), whole(&a[ACT_PERM]), whole(&a[ACT_INV]), whole(&a[ACT_TILES]), whole(&a[ACT_GATE]),
        whole(&a[ACT_UP]), whole(&a[ACT_HIDDEN]), whole(&a[ACT_Y]) };
    const char *variant = vkl_moe_variant(s->device->info, c->dim, width, type, down);
    if (!variant) {
        vkl_log_error("%s: blk.%u: experts in %s (down: %s) need the width %u and the expert width %u in whole blocks",
                      s->model->path, l, vkl_format_of(type)->name, vkl_format_of(down)->name, c->dim, width);
        p->ok = false;
        return;
    }
    add_kernel(p, "ffn_moe", "moe", variant, dims, t, sizeof t / sizeof t[0], vkl_model_expert_scale(c));
}

// The shared experts (DeepSeek): one SwiGLU FFN of the normalised input in XB, added to x.
static void plan_shared_experts(plan *p, uint32_t l)
{
    const vkl_model_config *c = &p->s->cfg;
    vkl_buffer *a = p->s->act;
    uint32_t w = c->n_shared_experts * vkl_model_expert_width(c);
    add_swiglu_steps(p, l, "ffn_gate_shexp.weight", "ffn_gate_shexp.bias", "ffn_up_shexp.weight", "ffn_up_shexp.bias",
                     "ffn_shexp_swiglu", w);
    add_projection_residual(p, "ffn_shexp_residual", p->M, &a[ACT_HB], (int)l, "ffn_down_shexp.weight",
                            "ffn_down_shexp.bias", &a[ACT_XB2], &a[ACT_X], c->dim, w);
}

static void plan_layer(plan *p, uint32_t l)
{
    vkl_buffer *a = p->s->act;
    p->cmd = l + 1;
    if (p->s->cfg.arch->mla) plan_mla_attention(p, l);
    else plan_attention(p, l);
    if (vkl_layer_has_experts(&p->s->cfg, (int)l)) {
        add_norm(p, "ffn_norm", p->M, &a[ACT_X], (int)l, "ffn_norm.weight", "ffn_norm.bias", &a[ACT_XB]);
        plan_moe_ffn(p, l);
        add_residual(p, "ffn_residual", &a[ACT_X], &a[ACT_XB2]);
        if (p->s->cfg.n_shared_experts) plan_shared_experts(p, l);
    } else {
        plan_dense_ffn(p, l);  // its down projection adds the residual
    }
}

// The token embedding, plus the learned position embedding of each row's position.
static void plan_embedding(plan *p)
{
    vkl_scheduler *s = p->s;
    const vkl_model_config *c = &s->cfg;
    vkl_dtype embd_type;
    const vkl_buffer *embd = weight(s, -1, "token_embd.weight", &embd_type);
    uint32_t e[4] = { p->M, c->vocab_size, c->dim, 0 };
    vkl_binding et[4] = { whole(&s->token), whole(embd), whole(&s->act[ACT_X]), whole(&s->status) };
    add_kernel(p, "token_embd", "embedding", vkl_embedding_variant(s->device->info, embd_type), e, et, 4, 0.0f);
    if (!c->arch->learned_positions) return;
    const vkl_buffer *pos_embd = weight(s, -1, "position_embd.weight", &embd_type);
    uint32_t pe[4] = { p->M, c->context, c->dim, 0 };
    vkl_binding pt[4] = { whole(&s->positions), whole(pos_embd), whole(&s->act[ACT_XB]), whole(&s->status) };
    add_kernel(p, "position_embd", "embedding", vkl_embedding_variant(s->device->info, embd_type), pe, pt, 4, 0.0f);
    add_residual(p, "position_add", &s->act[ACT_X], &s->act[ACT_XB]);
}

// The forward pass of M tokens (embedding, layers, head); the head keeps the last row's logits.
static bool plan_pass(vkl_scheduler *s, uint32_t M, int64_t pos, plan *p)
{
    const vkl_model_config *c = &s->cfg;
    *p = (plan){ .s = s, .M = M, .pos = pos, .ok = true };
    plan_embedding(p);
    for (uint32_t l = 0; l < c->n_layers; l++) plan_layer(p, l);
    p->cmd = c->n_layers + 1;
    const vkl_buffer *last = &s->act[ACT_X];
    if (M > 1) {  // the classifier needs only the last row
        plan_step copy = { .cmd = p->cmd, .label = "last_row", .copy_src = &s->act[ACT_X], .copy_dst = &s->act[ACT_XB2],
                           .copy_offset = (uint64_t)(M - 1) * c->dim * 4, .copy_bytes = (uint64_t)c->dim * 4 };
        arrput(p->steps, copy);
        last = &s->act[ACT_XB2];
    }
    add_norm(p, "output_norm", 1, last, -1, "output_norm.weight", "output_norm.bias", &s->act[ACT_XB]);
    add_matmul(p, 1, &s->act[ACT_XB], -1, "output.weight", &s->logits, c->vocab_size, c->dim);
    if (!p->ok) arrfree(p->steps);
    return p->ok;
}

// ---------------------------------------------------------------- recording

static vkl_status create_cmds(vkl_scheduler *s, vkl_cmd ***cmds)
{
    *cmds = calloc(s->cmd_count, sizeof **cmds);
    if (!*cmds) return VKL_ERR_OUT_OF_MEMORY;
    vkl_cmd_desc desc = { .max_dispatches = 32, .max_timestamps = 2, .reusable = true };
    for (uint32_t i = 0; i < s->cmd_count; i++) VKL_TRY(vkl_cmd_create(s->device, &desc, &(*cmds)[i]));
    return VKL_OK;
}

// Records the plan of M tokens into cmds, each kernel after a barrier on everything before it.
static vkl_status record_pass(vkl_scheduler *s, vkl_cmd **cmds, uint32_t M)
{
    plan p;
    if (!plan_pass(s, M, -1, &p)) return VKL_ERR_INVALID_ARG;
    vkl_status status = VKL_OK;
    // With timing, two timestamps bracket the pass (vkl_scheduler_gpu_us): the first command
    // buffer's first command and the last one's last. Not one pair per command buffer, and none
    // unless asked: lavapipe drains its queue at each, and 14 per token took stories260K from
    // 690 to 510 tokens/s.
    uint32_t query, last = s->cmd_count - 1;
    for (uint32_t i = 0; i < s->cmd_count && status == VKL_OK; i++) status = vkl_cmd_begin(cmds[i]);
    if (status == VKL_OK && s->timing && cmds[0]->query_pool) status = vkl_cmd_timestamp(cmds[0], &query);
    for (ptrdiff_t i = 0; i < arrlen(p.steps) && status == VKL_OK; i++) {
        const plan_step *step = &p.steps[i];
        vkl_cmd *cmd = cmds[step->cmd];
        if (!step->c.kernel) {
            vkl_cmd_copy(cmd, step->copy_src, step->copy_offset, step->copy_dst, 0, step->copy_bytes);
            continue;
        }
        vkl_cmd_barrier(cmd);
        status = vkl_record_kernel(cmd, s->pipelines, &step->c, step->tensors);
    }
    if (status == VKL_OK && s->timing && cmds[last]->query_pool) status = vkl_cmd_timestamp(cmds[last], &query);
    for (uint32_t i = 0; i < s->cmd_count && status == VKL_OK; i++) status = vkl_cmd_end(cmds[i]);
    arrfree(p.steps);
    return status;
}

static vkl_status record_all(vkl_scheduler *s)
{
    s->cmd_count = s->cfg.n_layers + 2;
    VKL_TRY(create_cmds(s, &s->cmds));
    VKL_TRY(create_cmds(s, &s->prefill));
    VKL_TRY(record_pass(s, s->cmds, 1));
    VkFenceCreateInfo fence = { VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VK_CHECK(vkCreateFence(s->device->device, &fence, NULL, &s->fence));
    return VKL_OK;
}

// ---------------------------------------------------------------- life cycle

static uint64_t device_local_bytes(const vkl_device_info *info)
{
    uint64_t largest = 0;
    for (uint32_t i = 0; i < info->memory.memoryHeapCount; i++)
        if ((info->memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            info->memory.memoryHeaps[i].size > largest)
            largest = info->memory.memoryHeaps[i].size;
    return largest;
}

// Refuses, before allocating, a model whose weights, cache and scratch exceed the device's
// largest device-local heap, or whose per-layer cache exceeds one binding's range.
// Bytes of a layer's larger cache buffer (K, or MLA's latent) at `context` positions: one binding.
static uint64_t layer_cache_bytes(const vkl_model_config *c, uint32_t context)
{
    uint64_t k_row, v_row;
    cache_row_bytes(c, &k_row, &v_row);
    return (uint64_t)context * (k_row > v_row ? k_row : v_row);
}

static bool check_fits(const vkl_device *device, const vkl_model *model, uint32_t context)
{
    vkl_scheduler_memory m = vkl_scheduler_memory_needed(device->info, model, context);
    uint64_t heap = device_local_bytes(device->info), total = m.weights + m.kv_cache + m.scratch;
    uint64_t layer_cache = layer_cache_bytes(&model->config, context);
    if (total > heap) {
        vkl_log_error("%s does not fit on %s: weights %.1f MiB + KV cache %.1f MiB (%u positions) + scratch %.1f MiB "
                      "= %.1f MiB; the device's memory heap has %.1f MiB (try a smaller -c)",
                      model->path, device->info->name, m.weights / 1048576.0, m.kv_cache / 1048576.0, context,
                      m.scratch / 1048576.0, total / 1048576.0, heap / 1048576.0);
        return false;
    }
    if (layer_cache > device->info->max_storage_buffer_range) {
        vkl_log_error("%s: a layer's K cache of %u positions takes %.1f MiB, over %s's maxStorageBufferRange of %.1f MiB "
                      "(try a smaller -c)", model->path, context, layer_cache / 1048576.0, device->info->name,
                      device->info->max_storage_buffer_range / 1048576.0);
        return false;
    }
    return true;
}

uint32_t vkl_scheduler_context_that_fits(const vkl_device *device, const vkl_model *model, uint32_t context)
{
    uint64_t heap = device_local_bytes(device->info);
    uint32_t lo = 1, hi = context;
    while (lo < hi) {  // the largest context whose memory fits
        uint32_t mid = lo + (hi - lo + 1) / 2;
        vkl_scheduler_memory m = vkl_scheduler_memory_needed(device->info, model, mid);
        uint64_t layer_cache = layer_cache_bytes(&model->config, mid);
        bool fits = m.weights + m.kv_cache + m.scratch <= heap && layer_cache <= device->info->max_storage_buffer_range;
        if (fits) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

vkl_status vkl_scheduler_create(vkl_device *device, const vkl_model *model, uint32_t context, vkl_scheduler **out)
{
    *out = NULL;
    if (!vkl_model_check(model)) return VKL_ERR_INVALID_ARG;
    if (!check_fits(device, model, context)) return VKL_ERR_OUT_OF_MEMORY;
    vkl_scheduler *s = calloc(1, sizeof *s);
    if (!s) return VKL_ERR_OUT_OF_MEMORY;
    *s = (vkl_scheduler){ .device = device, .model = model, .cfg = model->config, .context = context,
                          .rows = activation_rows(device->info, context) };
    // Fault injection for the tests of --validate, e.g. "matmul/gemv.f32:fault_drop_term".
    const char *fault = getenv("VKLLM_INJECT_FAULT");
    if (fault) snprintf(s->fault, sizeof s->fault, "%s", fault);
    vkl_status status = vkl_pipeline_set_create(device, &s->pipelines);
    if (status == VKL_OK) status = upload_weights(s);
    if (status == VKL_OK) status = create_state(s);
    if (status == VKL_OK) status = record_all(s);
    if (status != VKL_OK) {
        vkl_scheduler_destroy(s);
        return status;
    }
    *out = s;
    return VKL_OK;
}

static void destroy_layer_buffers(vkl_device *d, vkl_buffer *buffers, uint32_t n)
{
    for (uint32_t l = 0; buffers && l < n; l++) vkl_buffer_destroy(d, &buffers[l]);
    free(buffers);
}

void vkl_scheduler_destroy(vkl_scheduler *s)
{
    if (!s) return;
    vkl_device *d = s->device;
    vkDeviceWaitIdle(d->device);
    if (s->fence) vkDestroyFence(d->device, s->fence, NULL);
    for (uint32_t i = 0; i < s->cmd_count; i++) {
        if (s->cmds) vkl_cmd_destroy(s->cmds[i]);
        if (s->prefill) vkl_cmd_destroy(s->prefill[i]);
    }
    free(s->cmds);
    free(s->prefill);
    for (ptrdiff_t i = 0; s->weights && i < arrlen(s->model->tensors); i++) vkl_buffer_destroy(d, &s->weights[i]);
    free(s->weights);
    for (int i = 0; i < ACT_COUNT; i++) vkl_buffer_destroy(d, &s->act[i]);
    destroy_layer_buffers(d, s->k_cache, s->cfg.n_layers);
    destroy_layer_buffers(d, s->v_cache, s->cfg.n_layers);
    destroy_layer_buffers(d, s->moe_counts, s->cfg.n_layers);
    destroy_layer_buffers(d, s->moe_prob, s->cfg.n_layers);
    vkl_moe_stats_free(&s->moe_stats);
    vkl_buffer_destroy(d, &s->token);
    vkl_buffer_destroy(d, &s->positions);
    vkl_buffer_destroy(d, &s->pos);
    vkl_buffer_destroy(d, &s->status);
    vkl_buffer_destroy(d, &s->logits);
    vkl_pipeline_set_destroy(s->pipelines);
    vkl_checker_destroy(s->checker);
    free(s);
}

vkl_scheduler_memory vkl_scheduler_memory_use(const vkl_scheduler *s) { return s->memory; }

double vkl_scheduler_gpu_us(vkl_scheduler *s, bool prefill)
{
    vkl_cmd **cmds = prefill ? s->prefill : s->cmds;
    uint32_t last = s->cmd_count - 1;
    double ns;
    if (!cmds[0]->query_pool || vkl_cmds_elapsed_ns(cmds[0], 0, cmds[last], cmds[last]->timestamps - 1, &ns) != VKL_OK)
        return NAN;
    return ns / 1000.0;
}

vkl_status vkl_scheduler_set_timing(vkl_scheduler *s, bool on)
{
    if (s->timing == on) return VKL_OK;
    s->timing = on;
    s->prefill_rows = 0;  // re-recorded at the next prefill; no pass is in flight between calls
    return record_pass(s, s->cmds, 1);
}

const vkl_moe_stats *vkl_scheduler_moe_stats(const vkl_scheduler *s) { return s->cfg.n_experts ? &s->moe_stats : NULL; }

// ---------------------------------------------------------------- running

// After a pass of M tokens: the embedding's status word, and the experts' load.
static vkl_status after_pass(vkl_scheduler *s, const uint32_t *tokens, uint32_t M)
{
    uint32_t bad;
    memcpy(&bad, s->status.mapped, 4);
    if (bad) {
        vkl_log_error("%u token id(s) outside the vocabulary of %u (first of the batch: %u)", bad, s->cfg.vocab_size,
                      tokens[0]);
        memset(s->status.mapped, 0, 4);
        return VKL_ERR_INVALID_ARG;
    }
    for (uint32_t l = 0; s->cfg.n_experts && l < s->cfg.n_layers; l++)
        vkl_moe_stats_add(&s->moe_stats, l, s->moe_counts[l].mapped, s->moe_prob[l].mapped, M);
    return VKL_OK;
}

static void set_inputs(vkl_scheduler *s, const uint32_t *tokens, uint32_t M, uint32_t pos)
{
    memcpy(s->token.mapped, tokens, (size_t)M * 4);
    memcpy(s->pos.mapped, &pos, 4);
    uint32_t *positions = s->positions.mapped;
    for (uint32_t m = 0; m < M; m++) positions[m] = pos + m;
}

vkl_status vkl_scheduler_forward(vkl_scheduler *s, uint32_t token, uint32_t pos, float *logits)
{
    if (!vkl_kv_append_fits(pos, 1, s->context)) return VKL_ERR_INVALID_ARG;
    set_inputs(s, &token, 1, pos);
    VKL_TRY(vkl_submit_wait(s->device, s->cmds, s->cmd_count, s->fence));
    VKL_TRY(after_pass(s, &token, 1));
    memcpy(logits, s->logits.mapped, (size_t)s->cfg.vocab_size * 4);
    return VKL_OK;
}

vkl_status vkl_scheduler_prefill(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits)
{
    if (count == 0 || !vkl_kv_append_fits(pos, count, s->context)) return VKL_ERR_INVALID_ARG;
    for (uint32_t done = 0; done < count;) {
        uint32_t M = count - done < s->rows ? count - done : s->rows;
        if (M != s->prefill_rows) {  // recorded once per batch length, outside the token loop
            VKL_TRY(record_pass(s, s->prefill, M));
            s->prefill_rows = M;
        }
        set_inputs(s, tokens + done, M, pos + done);
        VKL_TRY(vkl_submit_wait(s->device, s->prefill, s->cmd_count, s->fence));
        VKL_TRY(after_pass(s, tokens + done, M));
        done += M;
    }
    memcpy(logits, s->logits.mapped, (size_t)s->cfg.vocab_size * 4);
    return VKL_OK;
}

// ---------------------------------------------------------------- validation

void vkl_validation_free(vkl_validation *v)
{
    arrfree(v->rows);
    memset(v, 0, sizeof *v);
}

static int step_layer(const plan_step *step)
{
    return step->cmd == 0 ? -1 : (int)step->cmd - 1;  // the head's cmd gives n_layers
}

static void note_result(vkl_validation *v, const plan_step *step, const vkl_case_result *r,
                        uint32_t pos)
{
    char name[96];
    snprintf(name, sizeof name, "%s %s/%s", step->label, step->c.kernel->name,
             step->c.kernel->variants[step->c.variant].name);
    int layer = step_layer(step);
    vkl_validation_row *row = NULL;
    for (ptrdiff_t i = 0; i < arrlen(v->rows) && !row; i++)
        if (v->rows[i].layer == layer && strcmp(v->rows[i].step, name) == 0) row = &v->rows[i];
    if (!row) {
        vkl_validation_row fresh = { .layer = layer };
        snprintf(fresh.step, sizeof fresh.step, "%s", name);
        arrput(v->rows, fresh);
        row = &arrlast(v->rows);
    }
    row->runs++;
    v->dispatches++;
    if (r->ratio > row->worst_ratio || r->status == VKL_CASE_FAIL) {
        row->worst_ratio = r->status == VKL_CASE_FAIL && !(r->ratio > 1.0) ? INFINITY : r->ratio;
        row->worst_err = r->max_err;
    }
    if (r->status != VKL_CASE_FAIL) return;
    if (!v->failures++)
        snprintf(v->first_failure, sizeof v->first_failure, "position %u, layer %d, %s (%s): %s", pos, layer, name,
                 step->c.name, r->detail);
}

// Runs one planned pass step by step, each kernel judged on the device's own inputs.
static vkl_status validate_pass(vkl_scheduler *s, const plan *p, uint32_t pos, vkl_validation *v)
{
    for (ptrdiff_t i = 0; i < arrlen(p->steps); i++) {
        const plan_step *step = &p->steps[i];
        if (!step->c.kernel) {
            VKL_TRY(vkl_copy_buffer_now(s->device, step->copy_src, step->copy_offset, (vkl_buffer *)step->copy_dst, 0,
                                        step->copy_bytes));
            continue;
        }
        vkl_case_result r;
        VKL_TRY(vkl_checker_run_live(s->checker, &step->c, step->tensors, &r));
        note_result(v, step, &r, pos);
    }
    return VKL_OK;
}

vkl_status vkl_scheduler_validate(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits,
                                  vkl_validation *v)
{
    if (count == 0 || !vkl_kv_append_fits(pos, count, s->context)) return VKL_ERR_INVALID_ARG;
    if (!s->checker) VKL_TRY(vkl_checker_create(s->device, &s->checker));
    vkl_status status = VKL_OK;
    for (uint32_t done = 0; done < count && status == VKL_OK;) {
        uint32_t M = count - done < s->rows ? count - done : s->rows;
        plan p;
        if (!plan_pass(s, M, pos + done, &p)) {
            status = VKL_ERR_INVALID_ARG;
            break;
        }
        set_inputs(s, tokens + done, M, pos + done);
        status = validate_pass(s, &p, pos + done, v);
        if (status == VKL_OK) status = after_pass(s, tokens + done, M);
        arrfree(p.steps);
        done += M;
    }
    if (status == VKL_OK) memcpy(logits, s->logits.mapped, (size_t)s->cfg.vocab_size * 4);
    return status;
}

// ---------------------------------------------------------------- profile

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Records the decode plan into one command buffer, a timestamp before the first step and
// after each one.
static vkl_status record_profile(vkl_scheduler *s, const plan *p, vkl_cmd **out)
{
    uint32_t steps = (uint32_t)arrlen(p->steps);
    vkl_cmd_desc desc = { .max_dispatches = VKL_MAX_DISPATCHES * steps, .max_timestamps = steps + 1, .reusable = true };
    VKL_TRY(vkl_cmd_create(s->device, &desc, out));
    vkl_cmd *cmd = *out;
    VKL_TRY(vkl_cmd_begin(cmd));
    if (!cmd->query_pool) return VKL_ERR_UNSUPPORTED;
    uint32_t query;
    VKL_TRY(vkl_cmd_timestamp(cmd, &query));
    for (uint32_t i = 0; i < steps; i++) {
        const plan_step *step = &p->steps[i];
        if (step->c.kernel) {
            vkl_cmd_barrier(cmd);
            VKL_TRY(vkl_record_kernel(cmd, s->pipelines, &step->c, step->tensors));
        } else {
            vkl_cmd_copy(cmd, step->copy_src, step->copy_offset, step->copy_dst, 0, step->copy_bytes);
        }
        VKL_TRY(vkl_cmd_timestamp(cmd, &query));
    }
    return vkl_cmd_end(cmd);
}

// Runs the recording `runs` times; times[i * runs + r] is step i's time in run r.
static vkl_status time_profile(vkl_scheduler *s, vkl_cmd *cmd, uint32_t steps, uint32_t token, uint32_t pos,
                               uint32_t runs, double *times)
{
    for (uint32_t r = 0; r < runs; r++) {
        set_inputs(s, &token, 1, pos);
        VKL_TRY(vkl_submit_wait(s->device, &cmd, 1, s->fence));
        VKL_TRY(after_pass(s, &token, 1));
        for (uint32_t i = 0; i < steps; i++) {
            double ns;
            VKL_TRY(vkl_cmd_elapsed_ns(cmd, i, i + 1, &ns));
            times[(size_t)i * runs + r] = ns / 1000.0;
        }
    }
    return VKL_OK;
}

vkl_status vkl_scheduler_profile(vkl_scheduler *s, uint32_t token, uint32_t pos, uint32_t runs, vkl_profile_row **rows)
{
    if (runs == 0 || !vkl_kv_append_fits(pos, 1, s->context)) return VKL_ERR_INVALID_ARG;
    plan p;
    if (!plan_pass(s, 1, -1, &p)) return VKL_ERR_INVALID_ARG;
    uint32_t steps = (uint32_t)arrlen(p.steps);
    vkl_cmd *cmd = NULL;
    double *times = malloc((size_t)steps * runs * sizeof *times);
    vkl_status status = times ? record_profile(s, &p, &cmd) : VKL_ERR_OUT_OF_MEMORY;
    if (status == VKL_OK) status = time_profile(s, cmd, steps, token, pos, runs, times);
    for (uint32_t i = 0; i < steps && status == VKL_OK; i++) {
        const plan_step *step = &p.steps[i];
        vkl_profile_row row = { .layer = step_layer(step) };
        if (step->c.kernel)
            snprintf(row.step, sizeof row.step, "%s %s/%s", step->label, step->c.kernel->name,
                     step->c.kernel->variants[step->c.variant].name);
        else
            snprintf(row.step, sizeof row.step, "%s copy", step->label);
        qsort(times + (size_t)i * runs, runs, sizeof *times, compare_double);
        row.us_median = times[(size_t)i * runs + runs / 2];
        arrput(*rows, row);
    }
    vkl_cmd_destroy(cmd);
    free(times);
    arrfree(p.steps);
    return status;
}
