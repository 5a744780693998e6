#include "host/scheduler.h"

#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/dispatch.h"
#include "host/ref.h"
#include "runtime/command.h"
#include "shaders/rows.h"

enum { ACT_X, ACT_XB, ACT_XB2, ACT_Q, ACT_K, ACT_V, ACT_HB, ACT_HB2, ACT_PARTIALS, ACT_TABLE, ACT_COUNT };

#define PREFILL_MAX 128u  // prompt tokens per prefill batch; activations hold this many rows

struct vkl_scheduler {
    vkl_device *device;
    const vkl_model *model;
    vkl_model_config cfg;
    uint32_t context;
    vkl_pipeline_set *pipelines;
    vkl_buffer *weights;                   // (model tensors), device-local
    vkl_buffer act[ACT_COUNT];             // activations, device-local
    vkl_buffer *k_cache, *v_cache;         // (n_layers)
    vkl_buffer token, pos, logits, status;  // host-visible
    uint32_t rows;                         // rows of the activation buffers: min(PREFILL_MAX, context)
    vkl_cmd **cmds;                        // decode (M = 1): embedding, layers, head
    vkl_cmd **prefill;                     // the same for a batch of prefill_rows prompt tokens
    uint32_t cmd_count, prefill_rows;
    VkFence fence;
    vkl_scheduler_memory memory;
};

static vkl_binding whole(const vkl_buffer *b) { return (vkl_binding){ b, 0, b->size }; }

static vkl_status upload_weights(vkl_scheduler *s)
{
    const vkl_model *m = s->model;
    s->weights = calloc((size_t)arrlen(m->tensors), sizeof *s->weights);
    if (!s->weights) return VKL_ERR_OUT_OF_MEMORY;
    for (ptrdiff_t i = 0; i < arrlen(m->tensors); i++) {
        const vkl_model_tensor *t = &m->tensors[i];
        uint64_t size = (t->bytes + 3) & ~3ull;
        if (size > s->device->info->max_storage_buffer_range) {
            vkl_log_error("%s: tensor %s (%llu bytes) exceeds the device's maxStorageBufferRange of %u", m->path, t->name,
                          (unsigned long long)size, s->device->info->max_storage_buffer_range);
            return VKL_ERR_UNSUPPORTED;
        }
        VKL_TRY(vkl_buffer_create(s->device, size, &s->weights[i]));
        VKL_TRY(vkl_buffer_upload(s->device, &s->weights[i], 0, t->data, t->bytes));
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

static vkl_status create_state(vkl_scheduler *s)
{
    const vkl_model_config *c = &s->cfg;
    uint64_t d = c->dim, kv = (uint64_t)c->n_kv_heads * c->head_dim, h = c->hidden_dim;
    uint64_t r = s->rows, chunks = (s->context + 255) / 256, sizes[ACT_COUNT] = {
        [ACT_X] = r * d, [ACT_XB] = r * d, [ACT_XB2] = r * d, [ACT_Q] = r * d, [ACT_K] = r * kv, [ACT_V] = r * kv,
        [ACT_HB] = r * h, [ACT_HB2] = r * h,
        [ACT_PARTIALS] = (uint64_t)c->n_heads * chunks * (c->head_dim + 2), [ACT_TABLE] = (uint64_t)s->context * c->rope_dim };
    for (int i = 0; i < ACT_COUNT; i++) VKL_TRY(create_device_buffer(s, &s->act[i], sizes[i] * 4, &s->memory.scratch));
    float *table = malloc(sizes[ACT_TABLE] * sizeof *table);
    if (!table) return VKL_ERR_OUT_OF_MEMORY;
    vkl_rope_table(table, s->context, c->rope_dim, c->rope_base);
    vkl_status status = vkl_buffer_upload(s->device, &s->act[ACT_TABLE], 0, table, sizes[ACT_TABLE] * 4);
    free(table);
    VKL_TRY(status);
    s->k_cache = calloc(c->n_layers, sizeof *s->k_cache);
    s->v_cache = calloc(c->n_layers, sizeof *s->v_cache);
    if (!s->k_cache || !s->v_cache) return VKL_ERR_OUT_OF_MEMORY;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        VKL_TRY(create_device_buffer(s, &s->k_cache[l], (uint64_t)s->context * kv * 4, &s->memory.kv_cache));
        VKL_TRY(create_device_buffer(s, &s->v_cache[l], (uint64_t)s->context * kv * 4, &s->memory.kv_cache));
    }
    VKL_TRY(vkl_buffer_create_host(s->device, 4ull * s->rows, &s->token));
    VKL_TRY(vkl_buffer_create_host(s->device, 16, &s->pos));
    VKL_TRY(vkl_buffer_create_host(s->device, 16, &s->status));
    VKL_TRY(vkl_buffer_create_host(s->device, (uint64_t)c->vocab_size * 4, &s->logits));
    memset(s->status.mapped, 0, 16);
    return VKL_OK;
}

// The device buffer of tensor `name` (layer `layer` when >= 0) and its type.
static const vkl_buffer *weight(const vkl_scheduler *s, int layer, const char *name, vkl_dtype *dtype)
{
    const vkl_model_tensor *t = vkl_model_find_layer(s->model, layer, name, NULL);
    if (!t) return NULL;
    if (dtype) *dtype = t->dtype;
    return &s->weights[t - s->model->tensors];
}

// Records one kernel run after a barrier on everything before it.
static vkl_status kernel(vkl_scheduler *s, vkl_cmd *cmd, const char *name, const char *variant, const uint32_t *dims,
                         const vkl_binding *tensors)
{
    vkl_case c;
    if (!vkl_case_make(&c, name, variant, dims)) return VKL_ERR_INVALID_ARG;
    vkl_cmd_barrier(cmd);
    return vkl_record_kernel(cmd, s->pipelines, &c, tensors);
}

// rms_norm with the model's eps (the kernel table's launch uses the common 1e-5).
static vkl_status rms_norm(vkl_scheduler *s, vkl_cmd *cmd, uint32_t M, const vkl_buffer *x, const vkl_buffer *w,
                           const vkl_buffer *y)
{
    vkl_case c;
    uint32_t dims[2] = { M, s->cfg.dim };
    if (!vkl_case_make(&c, "rms_norm", "f32", dims)) return VKL_ERR_INVALID_ARG;
    vkl_launch launch[VKL_MAX_DISPATCHES] = { 0 };
    uint32_t n = c.kernel->launch(&c, launch);
    struct rows_push push;
    memcpy(&push, launch[0].push, sizeof push);
    push.scalar = s->cfg.rms_eps;
    vkl_launch_set_push(&launch[0], &push, sizeof push);
    vkl_binding t[3] = { whole(x), whole(w), whole(y) };
    vkl_cmd_barrier(cmd);
    return vkl_record_launches(cmd, s->pipelines, &c, t, launch, n);
}

// y (M, N) = x (M, K) . W (N, K)T: GEMV for one row, tiled GEMM for a batch.
static vkl_status matmul(vkl_scheduler *s, vkl_cmd *cmd, uint32_t M, const vkl_buffer *x, int layer, const char *name,
                         const vkl_buffer *y, uint32_t N, uint32_t K)
{
    vkl_dtype dtype;
    const vkl_buffer *w = weight(s, layer, name, &dtype);
    uint32_t dims[3] = { M, N, K };
    vkl_binding t[3] = { whole(x), whole(w), whole(y) };
    bool f16 = dtype == VKL_DTYPE_F16;
    return kernel(s, cmd, "matmul", M == 1 ? (f16 ? "gemv.f16" : "gemv.f32") : (f16 ? "gemm.f16" : "gemm.f32"), dims, t);
}

static vkl_status record_attention(vkl_scheduler *s, vkl_cmd *cmd, uint32_t l, uint32_t M)
{
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t d = c->dim, kv = c->n_kv_heads * c->head_dim;
    VKL_TRY(rms_norm(s, cmd, M, &a[ACT_X], weight(s, l, "attn_norm.weight", NULL), &a[ACT_XB]));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "attn_q.weight", &a[ACT_Q], d, d));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "attn_k.weight", &a[ACT_K], kv, d));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "attn_v.weight", &a[ACT_V], kv, d));
    // P = context - M sizes the angle table at `context` rows; the position itself is read from s->pos.
    uint32_t rope[7] = { M, c->n_heads, c->n_kv_heads, c->head_dim, c->rope_dim, (uint32_t)c->rope_base, s->context - M };
    vkl_binding rt[4] = { whole(&a[ACT_Q]), whole(&a[ACT_K]), whole(&s->pos), whole(&a[ACT_TABLE]) };
    VKL_TRY(kernel(s, cmd, "rope", c->rope_neox ? "neox" : "adjacent", rope, rt));
    uint32_t append[5] = { M, c->n_kv_heads, c->head_dim, 0, s->context };
    vkl_binding at[5] = { whole(&a[ACT_K]), whole(&a[ACT_V]), whole(&s->k_cache[l]), whole(&s->v_cache[l]), whole(&s->pos) };
    VKL_TRY(kernel(s, cmd, "kv_append", "f32", append, at));
    uint32_t attn[6] = { M, c->n_heads, c->n_kv_heads, c->head_dim, 0, s->context };
    vkl_binding tt[6] = { whole(&a[ACT_Q]), whole(&s->k_cache[l]), whole(&s->v_cache[l]), whole(&s->pos),
                          whole(&a[ACT_XB]), whole(&a[ACT_PARTIALS]) };
    VKL_TRY(kernel(s, cmd, "attention", M == 1 ? "decode.f32" : "prefill.f32", attn, tt));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "attn_output.weight", &a[ACT_XB2], d, d));
    uint32_t n[1] = { M * d };
    vkl_binding add[3] = { whole(&a[ACT_X]), whole(&a[ACT_XB2]), whole(&a[ACT_X]) };
    return kernel(s, cmd, "add", "f32", n, add);
}

static vkl_status record_ffn(vkl_scheduler *s, vkl_cmd *cmd, uint32_t l, uint32_t M)
{
    const vkl_model_config *c = &s->cfg;
    vkl_buffer *a = s->act;
    uint32_t d = c->dim, h = c->hidden_dim;
    VKL_TRY(rms_norm(s, cmd, M, &a[ACT_X], weight(s, l, "ffn_norm.weight", NULL), &a[ACT_XB]));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "ffn_gate.weight", &a[ACT_HB], h, d));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_XB], l, "ffn_up.weight", &a[ACT_HB2], h, d));
    uint32_t nh[1] = { M * h }, nd[1] = { M * d };
    vkl_binding act[3] = { whole(&a[ACT_HB]), whole(&a[ACT_HB2]), whole(&a[ACT_HB]) };
    VKL_TRY(kernel(s, cmd, "swiglu", "f32", nh, act));
    VKL_TRY(matmul(s, cmd, M, &a[ACT_HB], l, "ffn_down.weight", &a[ACT_XB], d, h));
    vkl_binding add[3] = { whole(&a[ACT_X]), whole(&a[ACT_XB]), whole(&a[ACT_X]) };
    return kernel(s, cmd, "add", "f32", nd, add);
}

static vkl_status create_cmds(vkl_scheduler *s, vkl_cmd ***cmds)
{
    *cmds = calloc(s->cmd_count, sizeof **cmds);
    if (!*cmds) return VKL_ERR_OUT_OF_MEMORY;
    vkl_cmd_desc desc = { .max_dispatches = 32, .max_timestamps = 2, .reusable = true };
    for (uint32_t i = 0; i < s->cmd_count; i++) VKL_TRY(vkl_cmd_create(s->device, &desc, &(*cmds)[i]));
    return VKL_OK;
}

// Records the forward pass of M tokens (embedding, layers, head) into cmds; the head keeps only
// the last token's logits.
static vkl_status record_pass(vkl_scheduler *s, vkl_cmd **cmds, uint32_t M)
{
    const vkl_model_config *c = &s->cfg;
    for (uint32_t i = 0; i < s->cmd_count; i++) VKL_TRY(vkl_cmd_begin(cmds[i]));
    vkl_dtype embd_type;
    const vkl_buffer *embd = weight(s, -1, "token_embd.weight", &embd_type);
    uint32_t e[4] = { M, c->vocab_size, c->dim, 0 };
    vkl_binding et[4] = { whole(&s->token), whole(embd), whole(&s->act[ACT_X]), whole(&s->status) };
    VKL_TRY(kernel(s, cmds[0], "embedding", embd_type == VKL_DTYPE_F16 ? "f16" : "f32", e, et));
    for (uint32_t l = 0; l < c->n_layers; l++) {
        VKL_TRY(record_attention(s, cmds[l + 1], l, M));
        VKL_TRY(record_ffn(s, cmds[l + 1], l, M));
    }
    vkl_cmd *head = cmds[c->n_layers + 1];
    const vkl_buffer *last = &s->act[ACT_X];
    if (M > 1) {  // the classifier needs only the last row
        vkl_cmd_copy(head, &s->act[ACT_X], (uint64_t)(M - 1) * c->dim * 4, &s->act[ACT_XB2], 0, (uint64_t)c->dim * 4);
        last = &s->act[ACT_XB2];
    }
    VKL_TRY(rms_norm(s, head, 1, last, weight(s, -1, "output_norm.weight", NULL), &s->act[ACT_XB]));
    VKL_TRY(matmul(s, head, 1, &s->act[ACT_XB], -1, "output.weight", &s->logits, c->vocab_size, c->dim));
    for (uint32_t i = 0; i < s->cmd_count; i++) VKL_TRY(vkl_cmd_end(cmds[i]));
    return VKL_OK;
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

// Every tensor the recording binds must exist with the shape the kernels read.
static bool check_model(const vkl_model *m)
{
    if (m->config.n_experts) {
        vkl_log_error("%s: MoE models are not scheduled on the GPU yet (%u experts)", m->path, m->config.n_experts);
        return false;
    }
    return vkl_model_check_dense(m, false);
}

vkl_status vkl_scheduler_create(vkl_device *device, const vkl_model *model, uint32_t context, vkl_scheduler **out)
{
    *out = NULL;
    if (!check_model(model)) return VKL_ERR_INVALID_ARG;
    vkl_scheduler *s = calloc(1, sizeof *s);
    if (!s) return VKL_ERR_OUT_OF_MEMORY;
    *s = (vkl_scheduler){ .device = device, .model = model, .cfg = model->config, .context = context,
                          .rows = context < PREFILL_MAX ? context : PREFILL_MAX };
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
    for (uint32_t l = 0; l < s->cfg.n_layers; l++) {
        if (s->k_cache) vkl_buffer_destroy(d, &s->k_cache[l]);
        if (s->v_cache) vkl_buffer_destroy(d, &s->v_cache[l]);
    }
    free(s->k_cache);
    free(s->v_cache);
    vkl_buffer_destroy(d, &s->token);
    vkl_buffer_destroy(d, &s->pos);
    vkl_buffer_destroy(d, &s->status);
    vkl_buffer_destroy(d, &s->logits);
    vkl_pipeline_set_destroy(s->pipelines);
    free(s);
}

vkl_scheduler_memory vkl_scheduler_memory_use(const vkl_scheduler *s) { return s->memory; }

// Submits a recorded pass and checks the embedding's status word.
static vkl_status submit(vkl_scheduler *s, vkl_cmd **cmds, const uint32_t *tokens)
{
    VKL_TRY(vkl_submit_wait(s->device, cmds, s->cmd_count, s->fence));
    uint32_t bad;
    memcpy(&bad, s->status.mapped, 4);
    if (bad) {
        vkl_log_error("%u token id(s) outside the vocabulary of %u (first of the batch: %u)", bad, s->cfg.vocab_size,
                      tokens[0]);
        memset(s->status.mapped, 0, 4);
        return VKL_ERR_INVALID_ARG;
    }
    return VKL_OK;
}

vkl_status vkl_scheduler_forward(vkl_scheduler *s, uint32_t token, uint32_t pos, float *logits)
{
    if (!vkl_kv_append_fits(pos, 1, s->context)) return VKL_ERR_INVALID_ARG;
    memcpy(s->token.mapped, &token, 4);
    memcpy(s->pos.mapped, &pos, 4);
    VKL_TRY(submit(s, s->cmds, &token));
    memcpy(logits, s->logits.mapped, (size_t)s->cfg.vocab_size * 4);
    return VKL_OK;
}

vkl_status vkl_scheduler_prefill(vkl_scheduler *s, const uint32_t *tokens, uint32_t count, uint32_t pos, float *logits)
{
    if (count == 0 || !vkl_kv_append_fits(pos, count, s->context)) return VKL_ERR_INVALID_ARG;
    for (uint32_t done = 0; done < count;) {
        uint32_t M = count - done < s->rows ? count - done : s->rows, start = pos + done;
        if (M != s->prefill_rows) {  // recorded once per batch length, outside the token loop
            VKL_TRY(record_pass(s, s->prefill, M));
            s->prefill_rows = M;
        }
        memcpy(s->token.mapped, tokens + done, (size_t)M * 4);
        memcpy(s->pos.mapped, &start, 4);
        VKL_TRY(submit(s, s->prefill, tokens + done));
        done += M;
    }
    memcpy(logits, s->logits.mapped, (size_t)s->cfg.vocab_size * 4);
    return VKL_OK;
}
