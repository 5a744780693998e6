// vkllm mkmodel: write a GGUF model of one of vkllm's architectures with seeded random weights,
// dense or MoE, keys and tensors named as llama.cpp's converter names them, for tests and benchmarks.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/arch.h"
#include "host/gguf_writer.h"
#include "host/tokenizer.h"
#include "host/model_presets.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: vkllm mkmodel -o OUT.gguf [--arch NAME | --preset NAME] [--dim D] [--hidden F] [--layers L]\n"
    "                     [--heads H] [--kv-heads KVH] [--vocab V] [--context C] [--experts E --experts-used K]\n"
    "                     [--f16 | --type TYPE] [--seed S] [--vocab-from FILE.gguf] [--mla-kv-b]\n"
    "Writes a GGUF model with seeded random weights (and a vocabulary of byte pieces).\n"
    "Architectures: llama (default), gpt2, qwen2, qwen3, phi3, deepseek2; --arch starts from its first\n"
    "preset. Presets: stories260k (default), tinyllama, llama2-7b, llama3-8b, mixtral-8x7b (llama),\n"
    "gpt2-124m, qwen2.5-0.5b, qwen3-0.6b, deepseek-v2-lite, deepseek-v2, phi3-mini; the size options override, the\n"
    "architecture's other sizes (a head size of its own, MLA's ranks, the experts' width) following\n"
    "in proportion.\n"
    "--vocab-from takes the vocabulary (tokenizer.* keys, e.g. a byte-level BPE one) of a GGUF file,\n"
    "and the vocabulary size with it.\n"
    "--type writes the matrices in a weight type, as `vkllm quantize --type` would from the f32 model\n"
    "(the same values, quantized as they are drawn): " VKL_QUANT_TYPE_NAMES ";\n"
    "--f16 is --type f16.\n"
    "--mla-kv-b writes DeepSeek-V2's attention as files converted before llama.cpp's MLA support have\n"
    "it (attn_kv_b, per-head key and value sizes), which vkllm also reads.\n";

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
              c->context && c->dim % c->n_heads == 0 && c->n_heads % c->n_kv_heads == 0 && c->head_dim &&
              c->head_dim % 2 == 0 && (!c->n_experts || (c->arch->experts && c->n_experts_used &&
                                                         c->n_experts_used <= c->n_experts));
    if (!ok)
        fprintf(stderr, "vkllm: error: mkmodel: inconsistent shape for %s: dim %u, heads %u, kv heads %u, head size %u, "
                "vocab %u (>= 260), experts %u used %u%s\n", c->arch->name, c->dim, c->n_heads, c->n_kv_heads,
                c->head_dim, c->vocab_size, c->n_experts, c->n_experts_used,
                c->n_experts && !c->arch->experts ? " (this architecture has no experts)" : "");
    return ok;
}

static const vkl_model_preset *find_arch_preset(const char *name)
{
    const vkl_arch *arch = vkl_arch_find(name, strlen(name));
    const vkl_model_preset *p = arch ? vkl_model_preset_of_arch(arch) : NULL;
    if (!p) {
        char names[256];
        vkl_arch_names(names, sizeof names);
        fprintf(stderr, "vkllm: error: mkmodel: unknown architecture '%s' (architectures: %s)\n", name, names);
    }
    return p;
}

// The model with the vocabulary of `vocab_path` (its token count the vocabulary size), after
// checking that vkllm's tokenizer reads it.
static int write_with_vocabulary(const char *out, vkl_synthetic_model *m, const char *vocab_path)
{
    void *data;
    uint64_t size;
    if (vkl_read_file(vocab_path, 1ull << 32, &data, &size) != VKL_OK) return CLI_EXIT_FAIL;
    vkl_gguf g;
    vkl_tokenizer t;
    int code = CLI_EXIT_FAIL;
    if (vkl_gguf_parse(vocab_path, data, size, &g) == VKL_OK) {
        if (vkl_tokenizer_load_gguf(&g, 0, &t) == VKL_OK) {
            m->config.vocab_size = t.vocab_size;
            m->vocabulary = &g;
            if (valid(&m->config)) code = vkl_write_synthetic_gguf(out, m) == VKL_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
            else code = CLI_EXIT_USAGE;
            vkl_tokenizer_free(&t);
        }
        vkl_gguf_free(&g);
    }
    free(data);
    return code;
}

int cmd_mkmodel(int argc, char **argv)
{
    const vkl_model_preset *preset = &vkl_model_presets[0];
    vkl_synthetic_model m = { .config = preset->config, .seed = 1 };
    const char *out = NULL, *vocab_from = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return CLI_EXIT_OK; }
        if (!strcmp(a, "--f16")) { m.f16 = true; continue; }
        if (!strcmp(a, "--mla-kv-b")) { m.mla_kv_b = true; continue; }
        if (!(v = cli_option_value(argc, argv, &i))) return CLI_EXIT_USAGE;
        if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--vocab-from")) vocab_from = v;
        else if (!strcmp(a, "--type")) {
            if (!(m.type = vkl_quant_type_from_name(v))) {
                fprintf(stderr, "vkllm: error: mkmodel: unknown type '%s' (types: %s)\n", v, VKL_QUANT_TYPE_NAMES);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_u64("--seed", v, UINT64_MAX, &m.seed)) return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--preset") || !strcmp(a, "--arch")) {  // before the size options
            const vkl_model_preset *p = a[2] == 'p' ? vkl_model_preset_find(v) : find_arch_preset(v);
            if (!p) {
                if (a[2] == 'p') fprintf(stderr, "vkllm: error: mkmodel: unknown preset '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            preset = p;
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
    m.tied_output = preset->tied_output;
    vkl_preset_fill(preset, &m.config);
    if (!vocab_from) {
        if (!valid(&m.config)) return CLI_EXIT_USAGE;
        return vkl_write_synthetic_gguf(out, &m) == VKL_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    return write_with_vocabulary(out, &m, vocab_from);
}
