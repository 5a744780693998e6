// Pre-tokenizers of byte-level BPE vocabularies (tokenizer.ggml.pre): the regexes that cut text
// into the words that BPE merges within. One table line per pre-tokenizer in pretokenizers.c.
#ifndef VKLLM_PRETOKENIZERS_H
#define VKLLM_PRETOKENIZERS_H

#include <stdbool.h>
#include <stddef.h>

enum { VKL_PRETOKENIZER_MAX_REGEXES = 6 };

typedef struct vkl_pretokenizer {
    const char *name;
    const char *regexes[VKL_PRETOKENIZER_MAX_REGEXES];  // PCRE2 patterns (UTF, UCP), applied in turn; NULL ends
    // A word that is whole in the vocabulary is one token, unmerged (Llama 3's tokenizer does this;
    // merging by rank would not always reach it).
    bool ignore_merges;
} vkl_pretokenizer;

// The pre-tokenizer called `name` (`length` bytes, not NUL-terminated), or NULL.
const vkl_pretokenizer *vkl_pretokenizer_find(const char *name, size_t length);
// The known names, comma-separated, for error messages.
void vkl_pretokenizer_names(char *out, size_t size);

#endif
