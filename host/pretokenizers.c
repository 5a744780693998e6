// The pre-tokenizers of byte-level BPE vocabularies, by the name in tokenizer.ggml.pre. Each
// splits text with its regexes in turn (each regex splits every piece of the one before, keeping
// both its matches and the text between them as pieces), as the models' published tokenizers
// (Hugging Face tokenizer.json: a Sequence of Split "Isolated" pre-tokenizers) do. The patterns
// are the published ones, in the form llama.cpp's loader uses (the case-insensitive group of the
// contractions spelled out); PCRE2 runs them as they are written.
#include "host/pretokenizers.h"

#include <stdio.h>
#include <string.h>

// GPT-2's pattern, also the second step of several others.
#define GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
// Llama 3's (and, with single digits, Qwen2's) pattern, without (?i:...) around the contractions.
#define LLAMA3_HEAD "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
#define LLAMA3_TAIL "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

// DeepSeek's letter ranges (its Latin, Greek, Cyrillic, ... without CJK), its punctuation, and
// its CJK and Hangul ranges.
#define DEEPSEEK_LETTERS "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"
#define DEEPSEEK_PUNCTUATION "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"
#define CJK_HANGUL "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

static const vkl_pretokenizer PRETOKENIZERS[] = {
    {"gpt-2", {GPT2}, false},
    {"mpt", {GPT2}, false},
    {"llama-bpe", {LLAMA3_HEAD "\\p{N}{1,3}" LLAMA3_TAIL}, true},
    {"qwen2", {LLAMA3_HEAD "\\p{N}" LLAMA3_TAIL}, false},
    {"starcoder", {"\\p{N}", GPT2}, false},
    {"refact", {"\\p{N}", GPT2}, false},
    {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"}, false},
    // Non-ASCII characters as \x{...} escapes: several of them (U+1F7D, U+2126, U+212A, ...) are
    // changed by Unicode normalization, which an editor or a copy may apply to the literal text.
    {"deepseek-coder", {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_HANGUL, "\\p{N}"}, false},
    {"deepseek-llm", {"[\\r\\n]", DEEPSEEK_LETTERS, DEEPSEEK_PUNCTUATION, "\\s+$", CJK_HANGUL, "\\p{N}+"}, false},
    // A BPE vocabulary that names no pre-tokenizer (older conversions, e.g. gpt-neox): llama.cpp's default.
    {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, false},
};

// Other names of the same pre-tokenizers, as llama.cpp's converter writes them.
static const struct { const char *alias, *name; } ALIASES[] = {
    {"llama3", "llama-bpe"}, {"llama-v3", "llama-bpe"}, {"deepseek-r1-qwen", "qwen2"}, {"phi-2", "gpt-2"},
    {"olmo", "gpt-2"}, {"roberta-bpe", "gpt-2"}, {"smollm", "starcoder"}, {"codeshell", "starcoder"},
};

const vkl_pretokenizer *vkl_pretokenizer_find(const char *name, size_t length)
{
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strlen(ALIASES[i].alias) == length && memcmp(ALIASES[i].alias, name, length) == 0) {
            name = ALIASES[i].name;
            length = strlen(name);
        }
    for (size_t i = 0; i < sizeof PRETOKENIZERS / sizeof PRETOKENIZERS[0]; i++)
        if (strlen(PRETOKENIZERS[i].name) == length && memcmp(PRETOKENIZERS[i].name, name, length) == 0)
            return &PRETOKENIZERS[i];
    return NULL;
}

void vkl_pretokenizer_names(char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof PRETOKENIZERS / sizeof PRETOKENIZERS[0] && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "", PRETOKENIZERS[i].name);
        if (n < 0) break;
        used += (size_t)n;
    }
}
