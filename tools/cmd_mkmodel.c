// vkllm mkmodel: write a llama-architecture GGUF model with seeded random weights, dense or MoE,
// tensors named as llama.cpp names them, for tests and benchmarks.
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "host/gguf_writer.h"
#include "host/model_presets.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: vkllm mkmodel -o OUT.gguf [--preset NAME] [--dim D] [--hidden F] [--layers L] [--heads H]\n"
    "                     [--kv-heads KVH] [--vocab V] [--context C] [--experts E --experts-used K]\n"
    "                     [--f16 | --type TYPE] [--seed S]\n"
    "Writes a llama-architecture GGUF model with seeded random weights (and a byte-level vocabulary).\n"
    "Presets: stories260k (default), tinyllama, llama2-7b, llama3-8b, mixtral-8x7b; options override.\n"
    "--type writes the matrices in a weight type, as `vkllm quantize --type` would from the f32 model\n"
    "(the same values, quantized as they are drawn): " VKL_QUANT_TYPE_NAMES ";\n"
    "--f16 is --type f16.\n";

// Sets the config field an option names; -1 for an unknown option, 0 for a bad value.
static int set_field(vkl_model_config *c, const char *option, const char *value)
{
    static const struct { const char *option; size_t offset; uint64_t max; } FIELDS[] = {
        { "--dim", offsetof(vkl_model_config, dim), 1 << 16 },
        { "--hidden", offsetof(vkl_model_config, hidden_dim), 1 << 18 },
        { "--layers", offsetof(vkl_model_config, n_layers), 1024 },
        { "--heads", offsetof(vkl_model_config, n_heads), 1024 },
        { "--kv-heads", offsetof(vkl_model_config, n_kv_heads), 1024 },
        { "--vocab", offsetof(vkl_model_config, vocab_size), 1 << 22 },
        { "--context", offsetof(vkl_model_config, context), 1 << 20 },
        { "--experts", offsetof(vkl_model_config, n_experts), 256 },
        { "--experts-used", offsetof(vkl_model_config, n_experts_used), 8 },
    };
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        if (strcmp(option, FIELDS[i].option)) continue;
        uint64_t v;
        if (!cli_parse_u64(option, value, FIELDS[i].max, &v)) return 0;
        uint32_t u = (uint32_t)v;
        memcpy((char *)c + FIELDS[i].offset, &u, sizeof u);
        return 1;
    }
    return -1;
}

static bool valid(const vkl_model_config *c)
{
    bool ok = c->dim && c->hidden_dim && c->n_layers && c->n_heads && c->n_kv_heads && c->vocab_size >= 260 &&
              c->context && c->dim % c->n_heads == 0 && c->n_heads % c->n_kv_heads == 0 &&
              (c->dim / c->n_heads) % 2 == 0 && (!c->n_experts || (c->n_experts_used && c->n_experts_used <= c->n_experts));
    if (!ok)
        fprintf(stderr, "vkllm: error: mkmodel: inconsistent shape: dim %u, heads %u, kv heads %u, vocab %u (>= 260), "
                "experts %u used %u\n", c->dim, c->n_heads, c->n_kv_heads, c->vocab_size, c->n_experts, c->n_experts_used);
    return ok;
}

int cmd_mkmodel(int argc, char **argv)
{
    vkl_synthetic_model m = { .config = vkl_model_presets[0].config, .seed = 1 };
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return CLI_EXIT_OK; }
        if (!strcmp(a, "--f16")) { m.f16 = true; continue; }
        if (!(v = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--type")) {
            if (!(m.type = vkl_quant_type_from_name(v))) {
                fprintf(stderr, "vkllm: error: mkmodel: unknown type '%s' (types: %s)\n", v, VKL_QUANT_TYPE_NAMES);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_u64("--seed", v, UINT64_MAX, &m.seed)) return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--preset")) {
            const vkl_model_preset *p = vkl_model_preset_find(v);
            if (!p) {
                fprintf(stderr, "vkllm: error: mkmodel: unknown preset '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            m.config = p->config;
        } else {
            int set = set_field(&m.config, a, v);
            if (set == 0) return CLI_EXIT_USAGE;
            if (set < 0) {
                fprintf(stderr, "vkllm: error: mkmodel: unknown option '%s'\n", a);
                return CLI_EXIT_USAGE;
            }
        }
    }
    if (!out) {
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
    }
    if (!m.config.n_experts) m.config.n_experts_used = 0;
    if (!valid(&m.config)) return CLI_EXIT_USAGE;
    return vkl_write_synthetic_gguf(out, &m) == VKL_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
