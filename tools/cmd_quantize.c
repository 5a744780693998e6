// vkllm quantize: rewrite a GGUF model's tensors in a weight type (one format for every matrix,
// or one of llama.cpp's mixes), from whatever format they are in, and report each tensor's
// error. The metadata is copied; general.file_type and general.quantization_version are set.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_ds.h>

#include "host/formats.h"
#include "host/gguf.h"
#include "host/gguf_writer.h"
#include "host/model.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: vkllm quantize -i IN.gguf -o OUT.gguf --type TYPE\n"
    "Writes IN's tensors in TYPE, dequantizing them first, with IN's metadata. TYPE is a format,\n"
    "every matrix in it (f32 keeps everything f32): f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k,\n"
    "q3_k, q4_k, q5_k, q6_k; or a mix chosen per tensor as llama.cpp's quantize does for llama\n"
    "models: q4_k_s, q4_k_m, q5_k_m. Vectors (norms) and MoE routers stay f32. Rows that are not\n"
    "whole blocks of the format fall back (q2_k, q3_k -> q4_0, q4_k -> q5_0, q5_k -> q5_1,\n"
    "q6_k -> q8_0, else f16) and are listed. A tensor already in its format is copied as it is.\n"
    "Prints each tensor's name, shape, formats and RMSE against IN's values.\n";

#define INPUT_MAX_BYTES (1ull << 40)
#define CHUNK 65536u  // values converted at a time: a multiple of every block

typedef struct tensor_job {
    char *name;
    const vkl_gguf_tensor *t;
    const vkl_format *in, *out, *wanted;
    const uint8_t *data;
    uint64_t count, in_bytes, out_bytes;
} tensor_job;

static void free_jobs(tensor_job *jobs)
{
    for (ptrdiff_t i = 0; i < arrlen(jobs); i++) free(jobs[i].name);
    arrfree(jobs);
}

// Checks one tensor of the input and fills its job (formats chosen later). Errors name the file
// and the tensor.
static bool describe(const vkl_gguf *g, const vkl_gguf_tensor *t, tensor_job *job)
{
    *job = (tensor_job){ .t = t };
    if (!(job->name = malloc(t->name.length + 1))) {
        vkl_log_error("%s: cannot allocate a tensor name of %llu bytes", g->path, (unsigned long long)t->name.length);
        return false;
    }
    memcpy(job->name, t->name.text, t->name.length);
    job->name[t->name.length] = 0;
    if (!(job->in = vkl_format_from_ggml(t->type))) {
        vkl_log_error("%s: tensor %s has ggml type %u, which vkllm does not read (it reads %s)", g->path, job->name,
                      t->type, "f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k");
        return false;
    }
    job->count = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (t->ne[d] == 0 || job->count > UINT64_MAX / t->ne[d]) {
            vkl_log_error("%s: tensor %s: bad dimension ne[%u] = %llu", g->path, job->name, d,
                          (unsigned long long)t->ne[d]);
            return false;
        }
        job->count *= t->ne[d];
    }
    if (t->ne[0] % job->in->block || !vkl_format_file_bytes(job->in, job->count, &job->in_bytes)) {
        vkl_log_error("%s: tensor %s: rows of %llu values are not whole %s blocks of %u", g->path, job->name,
                      (unsigned long long)t->ne[0], job->in->name, job->in->block);
        return false;
    }
    uint64_t start = g->data_offset + t->offset;
    if (t->offset > g->size || start > g->size || job->in_bytes > g->size - start) {
        vkl_log_error("%s: tensor %s (%s): %llu bytes at data offset %llu run past the end of the file (%llu bytes)",
                      g->path, job->name, job->in->name, (unsigned long long)job->in_bytes,
                      (unsigned long long)t->offset, (unsigned long long)g->size);
        return false;
    }
    job->data = g->data + start;
    return true;
}

// What the mixes need: layers and experts from <arch>.*, and whether output.weight is absent.
static vkl_quant_model model_info(const vkl_gguf *g, const tensor_job *jobs)
{
    vkl_quant_model m = { .tied_output = true };
    uint32_t named_layers = 0;  // without <arch>.block_count: the layers the tensor names count
    for (ptrdiff_t i = 0; i < arrlen(jobs); i++) {
        int layer = -1;
        if (sscanf(jobs[i].name, "blk.%d.", &layer) == 1 && layer >= 0 && (uint32_t)layer >= named_layers)
            named_layers = (uint32_t)layer + 1;
        if (!strcmp(jobs[i].name, "output.weight")) m.tied_output = false;
    }
    m.n_layers = named_layers;
    const vkl_gguf_kv *arch = vkl_gguf_find(g, "general.architecture");
    char key[128];
    if (arch && arch->type == GGUF_STRING && arch->string.length < 64) {
        snprintf(key, sizeof key, "%.*s.block_count", (int)arch->string.length, arch->string.text);
        if (vkl_gguf_find(g, key) && !vkl_gguf_get_u32(g, key, &m.n_layers, false)) m.n_layers = named_layers;
        snprintf(key, sizeof key, "%.*s.expert_count", (int)arch->string.length, arch->string.text);
        if (vkl_gguf_find(g, key) && !vkl_gguf_get_u32(g, key, &m.n_experts, false)) m.n_experts = 0;
    }
    return m;
}

// IN's metadata, with general.file_type and general.quantization_version set (in place when present).
static void write_metadata(vkl_gguf_writer *w, const vkl_gguf *g, const vkl_quant_type *type)
{
    static const char *const SET[2] = { "general.file_type", "general.quantization_version" };
    const uint32_t values[2] = { type->file_type, 2 };  // 2: ggml's GGML_QNT_VERSION
    bool written[2] = { false, false };
    for (ptrdiff_t i = 0; i < arrlen(g->kvs); i++) {
        int k = vkl_gguf_string_is(g->kvs[i].key, SET[0]) ? 0 : vkl_gguf_string_is(g->kvs[i].key, SET[1]) ? 1 : -1;
        if (k < 0) {
            vkl_gguf_writer_kv_copy(w, &g->kvs[i]);
        } else if (!written[k]) {
            vkl_gguf_writer_kv_u32(w, SET[k], values[k]);
            written[k] = true;
        }
    }
    for (int k = 0; k < 2; k++)
        if (!written[k]) vkl_gguf_writer_kv_u32(w, SET[k], values[k]);
}

static void print_shape(const vkl_gguf_tensor *t, char *out, size_t size)
{
    size_t at = 0;
    out[0] = 0;
    for (uint32_t d = t->n_dims; d-- > 0 && at < size;)  // outermost first, as numpy shows it
        at += (size_t)snprintf(out + at, size - at, "%s%llu", d + 1 < t->n_dims ? "x" : "",
                               (unsigned long long)t->ne[d]);
}

typedef struct buffers {
    float *x, *y;
    uint8_t *q;
} buffers;

// Converts one tensor chunk by chunk, writing it and measuring its error against the input's
// values. False (logged) on a value that is not finite, or one the format cannot hold.
static bool convert(vkl_gguf_writer *w, const char *path, const tensor_job *job, buffers *b, double *sq_err,
                    double *sq_sum)
{
    uint64_t in_at = 0;
    for (uint64_t done = 0; done < job->count; done += CHUNK) {
        uint64_t n = job->count - done < CHUNK ? job->count - done : CHUNK, in_bytes = 0, out_bytes = 0;
        vkl_format_file_bytes(job->in, n, &in_bytes);  // n is whole blocks of both formats
        vkl_format_file_bytes(job->out, n, &out_bytes);
        vkl_format_dequantize(job->in, job->data + in_at, n, b->x);
        in_at += in_bytes;
        for (uint64_t i = 0; i < n; i++) {
            if (isfinite(b->x[i])) continue;
            vkl_log_error("%s: tensor %s: value %llu is %s; cannot convert it to %s", path, job->name,
                          (unsigned long long)(done + i), isnan(b->x[i]) ? "NaN" : "infinite", job->out->name);
            return false;
        }
        vkl_format_quantize(job->out, b->x, n, b->q);
        vkl_format_dequantize(job->out, b->q, n, b->y);
        for (uint64_t i = 0; i < n; i++) {
            if (!isfinite(b->y[i])) {
                vkl_log_error("%s: tensor %s: value %llu (%g) is out of %s's range", path, job->name,
                              (unsigned long long)(done + i), b->x[i], job->out->name);
                return false;
            }
            double e = (double)b->y[i] - b->x[i];
            *sq_err += e * e;
            *sq_sum += (double)b->x[i] * b->x[i];
        }
        vkl_gguf_writer_data(w, b->q, out_bytes);
    }
    return true;
}

static bool write_tensors(vkl_gguf_writer *w, const char *path, const tensor_job *jobs)
{
    buffers b = { malloc(CHUNK * sizeof(float)), malloc(CHUNK * sizeof(float)), malloc(CHUNK * 4) };
    bool ok = b.x && b.y && b.q;
    if (!ok) vkl_log_error("cannot allocate the conversion buffers");
    for (ptrdiff_t i = 0; ok && i < arrlen(jobs); i++) {
        const tensor_job *job = &jobs[i];
        char shape[96], from[32];
        print_shape(job->t, shape, sizeof shape);
        snprintf(from, sizeof from, "%s->%s", job->in->name, job->out->name);
        if (job->in == job->out) {
            vkl_gguf_writer_data(w, job->data, job->in_bytes);
            printf("  %-32s %-16s %-12s copied\n", job->name, shape, from);
        } else {
            double sq_err = 0, sq_sum = 0;
            if (!(ok = convert(w, path, job, &b, &sq_err, &sq_sum))) break;
            double rmse = sqrt(sq_err / (double)job->count), rms = sqrt(sq_sum / (double)job->count);
            if (rms > 0) printf("  %-32s %-16s %-12s rmse %.4e (%.3f%% of rms)\n", job->name, shape, from, rmse,
                                      100 * rmse / rms);
            else printf("  %-32s %-16s %-12s rmse %.4e\n", job->name, shape, from, rmse);
        }
        vkl_gguf_writer_end_tensor(w);
    }
    free(b.x);
    free(b.y);
    free(b.q);
    return ok;
}

// Chooses every tensor's format and lists the fallbacks; false (logged) when a size overflows.
static bool choose_formats(const vkl_gguf *g, const vkl_quant_type *type, tensor_job *jobs, uint64_t *out_total)
{
    vkl_quant_model model = model_info(g, jobs);
    uint32_t fallbacks = 0;
    *out_total = 0;
    for (ptrdiff_t i = 0; i < arrlen(jobs); i++) {
        tensor_job *job = &jobs[i];
        vkl_quant_choice c = vkl_quant_choose(type, &model, job->name, job->t->n_dims, job->t->ne[0]);
        job->out = c.format, job->wanted = c.wanted;
        if (!vkl_format_file_bytes(job->out, job->count, &job->out_bytes) || *out_total > UINT64_MAX - job->out_bytes) {
            vkl_log_error("%s: tensor %s: %llu values in %s overflow a 64-bit size", g->path, job->name,
                          (unsigned long long)job->count, job->out->name);
            return false;
        }
        *out_total += job->out_bytes;
        if (c.format == c.wanted) continue;
        printf("fallback: %s: rows of %llu values are not whole %s blocks of %u: %s instead\n", job->name,
               (unsigned long long)job->t->ne[0], c.wanted->name, c.wanted->block, c.format->name);
        fallbacks++;
    }
    if (fallbacks) printf("%u tensor(s) fell back to another format\n", fallbacks);
    return true;
}

static int quantize_file(const char *in_path, const char *out_path, const vkl_quant_type *type)
{
    void *data = NULL;
    uint64_t size = 0;
    vkl_gguf g;
    if (vkl_read_file(in_path, INPUT_MAX_BYTES, &data, &size) != VKL_OK) return CLI_EXIT_FAIL;
    if (vkl_gguf_parse(in_path, data, size, &g) != VKL_OK) {
        free(data);
        return CLI_EXIT_FAIL;
    }
    tensor_job *jobs = NULL;
    bool ok = true;
    for (ptrdiff_t i = 0; ok && i < arrlen(g.tensors); i++) {
        tensor_job job;
        ok = describe(&g, &g.tensors[i], &job);
        arrput(jobs, job);  // freed with the rest, valid or not
    }
    uint64_t out_total = 0, in_total = 0;
    if (ok) printf("quantize %s -> %s: %s, %lld tensors\n", in_path, out_path, type->name, (long long)arrlen(jobs));
    if (ok) ok = choose_formats(&g, type, jobs, &out_total);
    // Written to OUT.part, renamed over OUT at the end: a failure leaves no half-written OUT.
    size_t part_size = strlen(out_path) + 6;
    char *part = malloc(part_size);
    vkl_gguf_writer w;
    if (ok && !part) ok = false, vkl_log_error("cannot allocate a path");
    if (ok) snprintf(part, part_size, "%s.part", out_path);
    if (ok && vkl_gguf_writer_open(&w, part, (uint64_t)arrlen(jobs), g.alignment) != VKL_OK) ok = false;
    else if (ok) {
        write_metadata(&w, &g, type);
        for (ptrdiff_t i = 0; i < arrlen(jobs); i++) {
            vkl_gguf_writer_tensor_info(&w, jobs[i].name, jobs[i].t->n_dims, jobs[i].t->ne, jobs[i].out->ggml_type,
                                        jobs[i].out_bytes);
            in_total += jobs[i].in_bytes;
        }
        if ((ok = write_tensors(&w, in_path, jobs))) ok = vkl_gguf_writer_close(&w) == VKL_OK;
        else vkl_gguf_writer_abort(&w);  // the error is logged; the file goes
        if (ok && rename(part, out_path) != 0) ok = false, vkl_log_error("%s: cannot rename to %s", part, out_path);
        if (!ok) remove(part);
        if (ok)
            printf("tensor data: %llu -> %llu bytes\n", (unsigned long long)in_total, (unsigned long long)out_total);
    }
    free(part);
    free_jobs(jobs);
    vkl_gguf_free(&g);
    free(data);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_quantize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *type_name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return CLI_EXIT_OK; }
        if (strcmp(a, "-i") && strcmp(a, "-o") && strcmp(a, "--type")) {
            fprintf(stderr, "vkllm: error: quantize: unknown option '%s'\n", a);
            return CLI_EXIT_USAGE;
        }
        if (!(v = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        if (!strcmp(a, "-i")) in = v;
        else if (!strcmp(a, "-o")) out = v;
        else type_name = v;
    }
    if (!in || !out || !type_name) {
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
    }
    const vkl_quant_type *type = vkl_quant_type_from_name(type_name);
    if (!type) {
        fprintf(stderr, "vkllm: error: quantize: unknown type '%s' (types: %s)\n", type_name, VKL_QUANT_TYPE_NAMES);
        return CLI_EXIT_USAGE;
    }
    return quantize_file(in, out, type);
}
