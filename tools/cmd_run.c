// vkllm run: generate text from a model. stdout carries only the text (the prompt, then the
// generation, as llama2.c prints it); progress and speed go to stderr.
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/clock.h"
#include "host/cpu_forward.h"
#include "host/model.h"
#include "host/sampler.h"
#include "host/scheduler.h"
#include "host/tokenizer.h"
#include "tools/cli.h"
#include "tools/commands.h"

typedef struct run_options {
    cli_common common;
    const char *model, *tokenizer, *prompt, *dump_logits;
    uint64_t steps, context, top_k, seed;
    float temperature, top_p;
    bool cpu, validate, ignore_eos;
} run_options;

static const char USAGE[] =
    "usage: vkllm run -m MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [-c CTX] [-t TEMP] [--top-k K]\n"
    "                 [--top-p P] [--seed S] [--ignore-eos] [--cpu] [--validate] [--device N]\n"
    "                 [--vulkan-validation]\n"
    "Generates text. stdout carries the prompt followed by the generation; speed goes to stderr.\n"
    "  -m MODEL       GGUF model (llama, gpt2, qwen2, qwen3, phi3, deepseek2; f32, f16, quantized) or llama2.c checkpoint\n"
    "  -z TOKENIZER   llama2.c tokenizer.bin (required for llama2.c checkpoints; GGUF has its own)\n"
    "  -p PROMPT      prompt text (default: none)\n"
    "  -n N           tokens to generate after the prompt (default 256)\n"
    "  -c CTX         context positions (default: the model's, capped to what fits on the device)\n"
    "  -t TEMP        temperature; 0 is greedy (default 1.0)\n"
    "  --top-k K      sample among the K most likely tokens (default: all)\n"
    "  --top-p P      sample within the smallest set of probability P (default 0.9)\n"
    "  --seed S       sampling seed (default: from the clock)\n"
    "  --ignore-eos   generate all N tokens, past the end-of-text token (EOS, and llama2.c's BOS)\n"
    "  --cpu          run the whole forward pass on the CPU reference kernels instead of the GPU\n"
    "  --validate     run every dispatch of the forward pass (prompt and generation) one at a\n"
    "                 time, compare its outputs with the CPU reference computed on the same inputs,\n"
    "                 print a per-layer, per-kernel error table and name the first dispatch over\n"
    "                 its bound (exit 1 if any); slow: for checking, not for speed\n"
    "  --device N, --vulkan-validation   as for every command\n"
    "  --dump-logits PATH  write each computed position's logits as raw f32 (for tests); on the GPU\n"
    "                 the prompt runs as a batch, so its rows start at the last prompt position\n"
    "On a CPU device (llvmpipe), a model with at most 1 MiB of decode weights per layer runs each\n"
    "dispatch on one thread (LP_NUM_THREADS=0) unless LP_NUM_THREADS is set.\n";

static bool parse_float(const char *what, const char *text, float lo, float hi, float *out)
{
    char *end = NULL;
    double v = text ? strtod(text, &end) : 0.0;
    if (!text || !end || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "vkllm: error: %s: '%s' is not a number in %g..%g\n", what, text ? text : "", lo, hi);
        return false;
    }
    *out = (float)v;
    return true;
}

static int parse_args(int argc, char **argv, run_options *o)
{
    *o = (run_options){ .prompt = "", .steps = 256, .temperature = 1.0f, .top_p = 0.9f, .seed = (uint64_t)time(NULL) };
    if (!cli_common_init(&o->common)) return CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        int used = cli_common_parse(&o->common, argc, argv, &i);
        if (used < 0) return CLI_EXIT_USAGE;
        if (used) continue;
        const char *a = argv[i], *v = NULL;
        bool needs = strcmp(a, "--cpu") && strcmp(a, "--validate") && strcmp(a, "--help") && strcmp(a, "--ignore-eos");
        if (needs && !(v = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return -1; }
        else if (!strcmp(a, "--cpu")) o->cpu = true;
        else if (!strcmp(a, "--validate")) o->validate = true;
        else if (!strcmp(a, "--ignore-eos")) o->ignore_eos = true;
        else if (!strcmp(a, "-m")) o->model = v;
        else if (!strcmp(a, "-z")) o->tokenizer = v;
        else if (!strcmp(a, "-p")) o->prompt = v;
        else if (!strcmp(a, "--dump-logits")) o->dump_logits = v;
        else if (!strcmp(a, "-n")) { if (!cli_parse_u64("-n", v, 1u << 24, &o->steps)) return CLI_EXIT_USAGE; }
        else if (!strcmp(a, "-c")) { if (!cli_parse_u64("-c", v, 1u << 24, &o->context)) return CLI_EXIT_USAGE; }
        else if (!strcmp(a, "--top-k")) { if (!cli_parse_u64("--top-k", v, 1u << 24, &o->top_k)) return CLI_EXIT_USAGE; }
        else if (!strcmp(a, "--seed")) { if (!cli_parse_u64("--seed", v, UINT64_MAX, &o->seed)) return CLI_EXIT_USAGE; }
        else if (!strcmp(a, "-t")) { if (!parse_float("-t", v, 0.0f, 100.0f, &o->temperature)) return CLI_EXIT_USAGE; }
        else if (!strcmp(a, "--top-p")) { if (!parse_float("--top-p", v, 0.0f, 1.0f, &o->top_p)) return CLI_EXIT_USAGE; }
        else {
            fprintf(stderr, "vkllm: error: run: unknown option '%s' (see `vkllm run --help`)\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!o->model) {
        fprintf(stderr, "vkllm: error: run: -m MODEL is required\n");
        return CLI_EXIT_USAGE;
    }
    if (o->cpu && o->validate) {
        fprintf(stderr, "vkllm: error: run: --validate checks the GPU against the CPU path; it cannot run with --cpu\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

// One forward pass: the CPU reference path or the GPU scheduler.
typedef struct forward_pass {
    vkl_cpu_forward *cpu;
    vkl_scheduler *gpu;
    vkl_validation *validation;  // --validate: the GPU pass checked dispatch by dispatch
} forward_pass;

static bool forward_token(forward_pass *f, uint32_t token, uint32_t pos, float *logits)
{
    if (f->cpu) {
        vkl_cpu_forward_token(f->cpu, token, pos, logits);
        return true;
    }
    if (f->validation) return vkl_scheduler_validate(f->gpu, &token, 1, pos, logits, f->validation) == VKL_OK;
    return vkl_scheduler_forward(f->gpu, token, pos, logits) == VKL_OK;
}

static bool forward_prompt(forward_pass *f, const uint32_t *prompt, uint32_t count, float *logits)
{
    if (f->validation) return vkl_scheduler_validate(f->gpu, prompt, count, 0, logits, f->validation) == VKL_OK;
    return vkl_scheduler_prefill(f->gpu, prompt, count, 0, logits) == VKL_OK;
}

// Writes token texts to stdout: llama2.c's tokenizer as llama2.c prints them (lone unprintable
// bytes dropped); GGUF vocabularies as bytes, a character whose bytes come in several tokens
// written whole once its last byte is there.
typedef struct text_out {
    const vkl_tokenizer *tok;
    char *pending;  // stb_ds: bytes of an unfinished character
} text_out;

static void print_text(text_out *out, const char *text)
{
    if (out->tok->kind == VKL_TOKENIZER_LLAMA2C) {
        if (vkl_piece_printable(text)) fputs(text, stdout);
        return;
    }
    size_t n = strlen(text);
    if (n == 0) return;
    memcpy(arraddnptr(out->pending, n), text, n);
    size_t complete = vkl_utf8_complete_prefix(out->pending, (size_t)arrlen(out->pending));
    fwrite(out->pending, 1, complete, stdout);
    arrdeln(out->pending, 0, complete);
}

// The generation loop of llama2.c: prompt tokens are forced, then tokens are sampled; BOS ends
// it (and EOS, for a GGUF vocabulary).
static int generate(const run_options *o, forward_pass *f, uint32_t vocab, const vkl_tokenizer *tok,
                    const uint32_t *prompt, uint32_t prompt_len, FILE *dump)
{
    uint32_t positions = prompt_len - 1 + (uint32_t)o->steps;
    float *logits = malloc(vocab * sizeof *logits);
    vkl_sampler sampler;
    if (!logits || vkl_sampler_init(&sampler, vocab, o->temperature, (uint32_t)o->top_k, o->top_p, o->seed)) {
        free(logits);
        return CLI_EXIT_FAIL;
    }
    int code = CLI_EXIT_OK;
    double start = vkl_seconds_now(), prompt_done = start;
    uint32_t token = prompt[0], pos = 0;
    bool have_logits = false;
    text_out out = { tok, NULL };
    if (prompt[0] != tok->bos) print_text(&out, vkl_tokenizer_decode(tok, UINT32_MAX, prompt[0]));
    if (f->gpu) {  // the whole prompt as batches; its pieces are printed as they are forced
        if (!forward_prompt(f, prompt, prompt_len, logits)) code = CLI_EXIT_FAIL;
        for (uint32_t i = 1; i < prompt_len; i++) {
            print_text(&out, vkl_tokenizer_decode(tok, prompt[i - 1], prompt[i]));
        }
        token = prompt[prompt_len - 1];
        pos = prompt_len - 1;
        have_logits = true;
        prompt_done = vkl_seconds_now();
    }
    for (; pos < positions && code == CLI_EXIT_OK; pos++) {
        if (!have_logits && !forward_token(f, token, pos, logits)) { code = CLI_EXIT_FAIL; break; }
        have_logits = false;
        if (dump) fwrite(logits, sizeof *logits, vocab, dump);
        if (pos + 1 == prompt_len && !f->gpu) prompt_done = vkl_seconds_now();
        uint32_t next = pos + 1 < prompt_len ? prompt[pos + 1] : vkl_sample(&sampler, logits);
        bool ends = next == tok->bos || (next == tok->eos && tok->kind != VKL_TOKENIZER_LLAMA2C);
        if (ends && !o->ignore_eos && pos + 1 >= prompt_len) break;
        print_text(&out, vkl_tokenizer_decode(tok, token, next));
        fflush(stdout);
        token = next;
    }
    arrfree(out.pending);  // an unfinished character at the end is not printed
    printf("\n");
    double end = vkl_seconds_now(), prompt_s = prompt_done - start, gen_s = end - prompt_done;
    uint32_t generated = pos + 1 > prompt_len ? pos + 1 - prompt_len : 0;
    fprintf(stderr, "vkllm: prompt %u tokens in %.3f s (%.1f tokens/s), generation %u tokens in %.3f s (%.1f tokens/s)%s\n",
            prompt_len, prompt_s, prompt_s > 0 ? prompt_len / prompt_s : 0.0, generated, gen_s,
            gen_s > 0 ? generated / gen_s : 0.0, f->cpu ? ", CPU reference path" : "");
    vkl_sampler_free(&sampler);
    free(logits);
    return code;
}

static void print_memory(const vkl_scheduler *s, const vkl_device *d, const vkl_model_config *c)
{
    vkl_scheduler_memory m = vkl_scheduler_memory_use(s);
    fprintf(stderr, "vkllm: %s: weights %.1f MiB, KV cache %.1f MiB (%llu bytes a token), scratch %.1f MiB\n",
            d->info->name, m.weights / 1048576.0, m.kv_cache / 1048576.0,
            (unsigned long long)vkl_model_kv_bytes_per_token(c), m.scratch / 1048576.0);
}

// The per-layer, per-kernel table of --validate, and the verdict.
static int print_validation(const vkl_validation *v, uint32_t n_layers)
{
    fprintf(stderr, "vkllm: --validate: %u dispatches against the CPU reference (worst over all positions)\n",
            v->dispatches);
    fprintf(stderr, "  %-6s %-40s %6s %12s %12s\n", "layer", "dispatch", "runs", "max_err", "err/bound");
    for (ptrdiff_t i = 0; i < arrlen(v->rows); i++) {
        const vkl_validation_row *r = &v->rows[i];
        char layer[16];
        if (r->layer < 0) snprintf(layer, sizeof layer, "embd");
        else if ((uint32_t)r->layer == n_layers) snprintf(layer, sizeof layer, "head");
        else snprintf(layer, sizeof layer, "%d", r->layer);
        fprintf(stderr, "  %-6s %-40s %6u %12.3g %12.3g%s\n", layer, r->step, r->runs, r->worst_err, r->worst_ratio,
                r->worst_ratio > 1.0 ? "  FAIL" : "");
    }
    if (!v->failures) {
        fprintf(stderr, "vkllm: --validate: every dispatch within its bound\n");
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "vkllm: --validate: %u dispatch(es) over their bound; the first: %s\n", v->failures,
            v->first_failure);
    return CLI_EXIT_FAIL;
}

static bool positions_fit(uint32_t prompt_len, uint64_t steps, uint32_t context)
{
    uint64_t needed = (uint64_t)prompt_len - 1 + steps;
    if (needed <= context) return true;
    fprintf(stderr, "vkllm: error: the prompt (%u tokens) plus -n %llu needs %llu positions; the context has %u\n",
            prompt_len, (unsigned long long)steps, (unsigned long long)needed, context);
    return false;
}

static int run_cpu(const run_options *o, const vkl_model *model, uint32_t context, const vkl_tokenizer *tok,
                   const uint32_t *prompt, uint32_t prompt_len, FILE *dump)
{
    if (!positions_fit(prompt_len, o->steps, context)) return CLI_EXIT_USAGE;
    vkl_cpu_forward cpu;
    if (vkl_cpu_forward_init(&cpu, model, context) != VKL_OK) return CLI_EXIT_FAIL;
    forward_pass f = { .cpu = &cpu };
    int code = generate(o, &f, model->config.vocab_size, tok, prompt, prompt_len, dump);
    if (model->config.n_experts) vkl_moe_stats_print(&cpu.moe_stats, stderr);
    vkl_cpu_forward_free(&cpu);
    return code;
}

// Without -c, the model's context capped to what fits on the device.
static uint32_t gpu_context(const run_options *o, const vkl_model *model, const vkl_device *device)
{
    uint32_t context = o->context ? (uint32_t)o->context : model->config.context;
    if (o->context) return context;
    uint32_t fits = vkl_scheduler_context_that_fits(device, model, context);
    if (fits < context)
        fprintf(stderr, "vkllm: context capped to %u positions (the model's %u do not fit on %s)\n", fits, context,
                device->info->name);
    return fits;
}

static int run_gpu(const run_options *o, const vkl_model *model, vkl_device *device, const vkl_tokenizer *tok,
                   const uint32_t *prompt, uint32_t prompt_len, FILE *dump)
{
    uint32_t context = gpu_context(o, model, device);
    if (!positions_fit(prompt_len, o->steps, context)) return CLI_EXIT_USAGE;
    vkl_validation validation = { 0 };
    forward_pass f = { .validation = o->validate ? &validation : NULL };
    if (vkl_scheduler_create(device, model, context, &f.gpu) != VKL_OK) return CLI_EXIT_FAIL;
    print_memory(f.gpu, device, &model->config);
    int code = generate(o, &f, model->config.vocab_size, tok, prompt, prompt_len, dump);
    const vkl_moe_stats *load = vkl_scheduler_moe_stats(f.gpu);
    if (load) vkl_moe_stats_print(load, stderr);
    if (o->validate) {
        int verdict = print_validation(&validation, model->config.n_layers);
        if (code == CLI_EXIT_OK) code = verdict;
    }
    vkl_validation_free(&validation);
    vkl_scheduler_destroy(f.gpu);
    return code;
}

// Runs generation on the chosen path; owns the device session for the GPU.
static int run_path(const run_options *o, const vkl_model *model, const vkl_tokenizer *tok, const uint32_t *prompt,
                    uint32_t prompt_len, FILE *dump)
{
    if (o->cpu) {
        uint32_t context = o->context ? (uint32_t)o->context : model->config.context;
        return run_cpu(o, model, context, tok, prompt, prompt_len, dump);
    }
    cli_common common = o->common;
    common.cpu_inline_dispatch = vkl_model_prefers_inline_dispatch(model);
    cli_session session;
    int code = CLI_EXIT_FAIL;
    if (cli_session_open(&common, true, &session))
        code = run_gpu(o, model, session.device, tok, prompt, prompt_len, dump);
    return cli_session_close(&session, code);
}

static int run_model(const run_options *o, const vkl_model *model)
{
    const vkl_model_config *c = &model->config;
    if (!o->tokenizer && !model->tokenizer) {
        fprintf(stderr, "vkllm: error: %s has no tokenizer inside; pass one with -z\n", o->model);
        return CLI_EXIT_USAGE;
    }
    if (o->context > c->context) {
        fprintf(stderr, "vkllm: error: -c %llu exceeds the model's context of %u\n", (unsigned long long)o->context,
                c->context);
        return CLI_EXIT_USAGE;
    }
    vkl_tokenizer own = { 0 }, *tok = model->tokenizer;
    if (o->tokenizer) {
        if (vkl_tokenizer_load_llama2c(o->tokenizer, c->vocab_size, &own) != VKL_OK) return CLI_EXIT_FAIL;
        tok = &own;
    }
    uint32_t *prompt = NULL;
    int code = vkl_tokenizer_encode(tok, o->prompt, VKL_ENCODE_ADD_SPECIAL | VKL_ENCODE_PARSE_SPECIAL, &prompt) == VKL_OK
                   ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    if (code == CLI_EXIT_OK && arrlen(prompt) == 0) {  // no BOS added and no text: start from BOS all the same
        if (tok->bos < c->vocab_size) arrput(prompt, tok->bos);
        else code = (fprintf(stderr, "vkllm: error: the prompt is empty and the vocabulary has no BOS token\n"), CLI_EXIT_USAGE);
    }
    FILE *dump = NULL;
    if (code == CLI_EXIT_OK && o->dump_logits && !(dump = fopen(o->dump_logits, "wb"))) {
        fprintf(stderr, "vkllm: error: --dump-logits: cannot write '%s'\n", o->dump_logits);
        code = CLI_EXIT_FAIL;
    }
    if (code == CLI_EXIT_OK) code = run_path(o, model, tok, prompt, (uint32_t)arrlen(prompt), dump);
    if (dump && fclose(dump) != 0) code = CLI_EXIT_FAIL;
    arrfree(prompt);
    if (o->tokenizer) vkl_tokenizer_free(&own);
    return code;
}

int cmd_run(int argc, char **argv)
{
    run_options o;
    int code = parse_args(argc, argv, &o);
    if (code) return code < 0 ? CLI_EXIT_OK : code;
    vkl_model model;
    if (vkl_model_load(o.model, &model) != VKL_OK) return CLI_EXIT_FAIL;
    code = run_model(&o, &model);
    vkl_model_free(&model);
    return code;
}
