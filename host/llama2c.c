// llama2.c checkpoint loader (run.c's legacy format): 7 int32, then f32 weights in the order
// token_embedding_table, rms_att_weight, wq, wk, wv, wo, rms_ffn_weight, w1, w2, w3,
// rms_final_weight, freq_cis_real, freq_cis_imag (unused), and wcls when vocab_size < 0.
#include <stdio.h>
#include <string.h>

#include "host/arch.h"
#include "host/model.h"

// Checks one header field against [1, max]; logs the file, field and value.
static bool field_ok(const char *path, const char *name, int64_t value, int64_t max)
{
    if (value >= 1 && value <= max) return true;
    vkl_log_error("%s: header field %s = %lld is out of range 1..%lld", path, name, (long long)value, (long long)max);
    return false;
}

static bool read_config(vkl_model *model, const int32_t *h, bool *shared)
{
    vkl_model_config *c = &model->config;
    const char *p = model->path;
    int64_t vocab = h[5] < 0 ? -(int64_t)h[5] : h[5];
    if (!field_ok(p, "dim", h[0], 1 << 16) || !field_ok(p, "hidden_dim", h[1], 1 << 18) ||
        !field_ok(p, "n_layers", h[2], 1024) || !field_ok(p, "n_heads", h[3], 1024) ||
        !field_ok(p, "n_kv_heads", h[4], h[3]) || !field_ok(p, "vocab_size", vocab, 1 << 22) ||
        !field_ok(p, "seq_len", h[6], 1 << 20))
        return false;
    if (h[0] % h[3] != 0 || h[3] % h[4] != 0 || (h[0] / h[3]) % 2 != 0) {
        vkl_log_error("%s: dim %d, n_heads %d, n_kv_heads %d: heads must divide dim, kv heads divide heads, and the "
                      "head size be even", p, h[0], h[3], h[4]);
        return false;
    }
    *shared = h[5] > 0;
    *c = (vkl_model_config){ .arch = &vkl_arch_llama, .dim = (uint32_t)h[0], .hidden_dim = (uint32_t)h[1], .n_layers = (uint32_t)h[2],
                             .n_heads = (uint32_t)h[3], .n_kv_heads = (uint32_t)h[4], .vocab_size = (uint32_t)vocab,
                             .context = (uint32_t)h[6], .rope_base = 10000.0f, .norm_eps = 1e-5f };
    c->head_dim = c->dim / c->n_heads;
    c->rope_dim = c->head_dim;
    return true;
}

// Adds one tensor per layer ("blk.L.<name>") of shape (rows, cols), or (cols) when rows == 0.
static bool add_layers(vkl_model *model, const char *name, uint64_t rows, uint64_t cols, uint64_t *offset)
{
    for (uint32_t l = 0; l < model->config.n_layers; l++) {
        char full[64];
        snprintf(full, sizeof full, "blk.%u.%s", l, name);
        uint64_t dims[2] = { rows ? rows : cols, cols };
        if (!vkl_model_add_tensor(model, full, VKL_DTYPE_F32, rows ? 2 : 1, dims, *offset)) return false;
        *offset += (rows ? rows : 1) * cols * 4;
    }
    return true;
}

static bool add_tensors(vkl_model *model, bool shared)
{
    const vkl_model_config *c = &model->config;
    uint64_t off = 28, dim = c->dim, hidden = c->hidden_dim, kv = (uint64_t)c->n_kv_heads * c->head_dim;
    uint64_t embd[2] = { c->vocab_size, dim };
    if (!vkl_model_add_tensor(model, "token_embd.weight", VKL_DTYPE_F32, 2, embd, off)) return false;
    off += embd[0] * dim * 4;
    if (!add_layers(model, "attn_norm.weight", 0, dim, &off) || !add_layers(model, "attn_q.weight", dim, dim, &off) ||
        !add_layers(model, "attn_k.weight", kv, dim, &off) || !add_layers(model, "attn_v.weight", kv, dim, &off) ||
        !add_layers(model, "attn_output.weight", dim, dim, &off) || !add_layers(model, "ffn_norm.weight", 0, dim, &off) ||
        !add_layers(model, "ffn_gate.weight", hidden, dim, &off) || !add_layers(model, "ffn_down.weight", dim, hidden, &off) ||
        !add_layers(model, "ffn_up.weight", hidden, dim, &off))
        return false;
    if (!vkl_model_add_tensor(model, "output_norm.weight", VKL_DTYPE_F32, 1, &dim, off)) return false;
    off += dim * 4 + 2ull * c->context * (c->head_dim / 2) * 4;  // skip freq_cis_real and _imag
    return vkl_model_add_tensor(model, "output.weight", VKL_DTYPE_F32, 2, embd, shared ? 28 : off);
}

vkl_status vkl_llama2c_load(vkl_model *model)
{
    const char *path = model->path;
    int32_t header[7];
    bool shared = true;
    if (model->file_size < sizeof header) {
        vkl_log_error("%s: %llu bytes, too short for a llama2.c header (28 bytes)", path,
                      (unsigned long long)model->file_size);
    } else {
        memcpy(header, model->file_data, sizeof header);
        if (read_config(model, header, &shared) && add_tensors(model, shared)) return VKL_OK;
    }
    return VKL_ERR_INVALID_ARG;
}
