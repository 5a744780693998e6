#include "host/tokenizer.h"

#include <ctype.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/merge_queue.h"
#include "host/model.h"

// ---- UTF-8 ----

// Bytes in the UTF-8 sequence that starts with `lead` (0: not a lead byte).
static size_t utf8_sequence_length(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if (lead < 0xC2) return 0;  // a continuation byte, or an overlong 2-byte lead
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    if (lead < 0xF5) return 4;
    return 0;
}

// Length of the valid character at s[0..n), or 0.
static size_t utf8_valid_character(const unsigned char *s, size_t n)
{
    size_t len = utf8_sequence_length(s[0]);
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;  // overlong, surrogate
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;  // overlong, > U+10FFFF
    return len;
}

size_t vkl_utf8_invalid_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = utf8_valid_character((const unsigned char *)s + i, n - i);
        if (len == 0) return i;
        i += len;
    }
    return n;
}

size_t vkl_utf8_complete_prefix(const char *s, size_t n)
{
    // Only the last three bytes can be an unfinished character.
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue;
        size_t len = utf8_sequence_length(c);
        return len > back ? n - back : n;
    }
    return n;
}

// ---- loading ----

static vkl_status load_error(vkl_tokenizer *t, const char *path, const char *what, uint32_t token, long long value)
{
    vkl_log_error("%s: token %u: %s (%lld)", path, token, what, value);
    vkl_tokenizer_free(t);
    return VKL_ERR_INVALID_ARG;
}

// The value of a <0xXX> piece, or -1.
static int byte_piece_value(const char *piece)
{
    if (strlen(piece) != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>' ||
        !isxdigit((unsigned char)piece[3]) || !isxdigit((unsigned char)piece[4]))
        return -1;
    return (int)strtol(piece + 3, NULL, 16);
}

// A copy of `piece` with every U+2581 (SentencePiece's space) turned into ' '.
static char *unescape_spaces(const char *piece)
{
    size_t n = strlen(piece);
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && (uint8_t)piece[i] == 0xE2 && (uint8_t)piece[i + 1] == 0x96 && (uint8_t)piece[i + 2] == 0x81) {
            *o++ = ' ';
            i += 2;
        } else {
            *o++ = piece[i];
        }
    }
    *o = 0;
    return out;
}

// What token `id` prints, as llama.cpp's token_to_piece gives it (llama2.c: the piece, bytes as bytes).
static char *token_text(const vkl_tokenizer *t, uint32_t id)
{
    const char *piece = t->pieces[id];
    int byte = byte_piece_value(piece);
    uint8_t type = t->types[id];
    if (t->kind == VKL_TOKENIZER_LLAMA2C || type == VKL_TOKEN_BYTE) {
        if (byte >= 0) {
            char *out = calloc(2, 1);
            if (out) out[0] = (char)byte;
            return out;
        }
        if (t->kind == VKL_TOKENIZER_LLAMA2C) return strdup(piece);
    }
    if (type == VKL_TOKEN_CONTROL) return strdup("");
    if (type == VKL_TOKEN_USER_DEFINED) return strdup(piece);
    if (t->kind == VKL_TOKENIZER_BPE) return vkl_bpe_piece_bytes(t->bpe, piece);
    if (type == VKL_TOKEN_UNKNOWN) return strdup("\xe2\x96\x85");  // llama.cpp prints <unk> as U+2585
    return unescape_spaces(piece);
}

static void build_lookup(vkl_tokenizer *t)
{
    sh_new_strdup(t->lookup);  // not sh_new_arena: its blocks index past a char[8] member (UBSan)
    for (uint32_t i = 0; i < t->vocab_size; i++)
        if (shgeti(t->lookup, t->pieces[i]) < 0) shput(t->lookup, t->pieces[i], i);  // first id wins
}

// The printed texts, the byte fallback and the special tokens, longest first.
static vkl_status build_tables(vkl_tokenizer *t)
{
    if (!(t->texts = calloc(t->vocab_size, sizeof *t->texts))) return VKL_ERR_OUT_OF_MEMORY;
    for (uint32_t i = 0; i < t->vocab_size; i++)
        if (!(t->texts[i] = token_text(t, i))) return VKL_ERR_OUT_OF_MEMORY;
    for (int b = 0; b < 256; b++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", b);
        ptrdiff_t at = shgeti(t->lookup, piece);
        if (t->kind == VKL_TOKENIZER_LLAMA2C) t->byte_tokens[b] = b + 3u < t->vocab_size ? b + 3 : 0;
        else t->byte_tokens[b] = at >= 0 ? (int64_t)t->lookup[at].value : (int64_t)t->unk;
    }
    if (t->kind == VKL_TOKENIZER_LLAMA2C) return VKL_OK;
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        uint8_t type = t->types[i];
        if ((type == VKL_TOKEN_CONTROL || type == VKL_TOKEN_USER_DEFINED || type == VKL_TOKEN_UNKNOWN) && t->pieces[i][0])
            arrput(t->specials, i);
    }
    // Insertion sort, stable: longest text first, so "<|im_start|>" is found before "<".
    for (ptrdiff_t i = 1; i < arrlen(t->specials); i++) {
        uint32_t id = t->specials[i];
        size_t len = strlen(t->pieces[id]);
        ptrdiff_t j = i;
        for (; j > 0 && strlen(t->pieces[t->specials[j - 1]]) < len; j--) t->specials[j] = t->specials[j - 1];
        t->specials[j] = id;
    }
    return VKL_OK;
}

static vkl_status finish_load(vkl_tokenizer *t)
{
    vkl_status status = build_tables(t);
    if (status != VKL_OK) {
        vkl_log_error("tokenizer: out of memory building its tables");
        vkl_tokenizer_free(t);
    }
    return status;
}

// Tokens in a llama2.c tokenizer file, when the model does not say.
static uint32_t count_llama2c_tokens(const uint8_t *data, uint64_t size)
{
    uint32_t n = 0;
    for (uint64_t off = 4; size >= 8 && off <= size - 8 && n < (1u << 22); n++) {
        int32_t len;
        memcpy(&len, data + off + 4, 4);
        if (len < 0 || (uint64_t)len > size - off - 8) break;
        off += 8 + (uint64_t)len;
    }
    return n ? n : 1;
}

vkl_status vkl_tokenizer_parse_llama2c(const char *path, const uint8_t *data, uint64_t size, uint32_t vocab_size,
                                       vkl_tokenizer *t)
{
    memset(t, 0, sizeof *t);
    if (vocab_size == 0) vocab_size = count_llama2c_tokens(data, size);
    t->kind = VKL_TOKENIZER_LLAMA2C;
    t->vocab_size = vocab_size;
    t->bos = 1;
    t->eos = 2;
    t->add_bos = true;
    t->pieces = calloc(vocab_size, sizeof *t->pieces);
    t->scores = calloc(vocab_size, sizeof *t->scores);
    t->types = malloc(vocab_size);
    vkl_status status = VKL_OK;
    int32_t max_len = 0;
    uint64_t off = 4;
    if (vocab_size < 3) status = load_error(t, path, "fewer tokens than <unk>, <s>, </s>", 0, vocab_size);
    else if (!t->pieces || !t->scores || !t->types) status = load_error(t, path, "out of memory", 0, vocab_size);
    else if (size < 4 || (memcpy(&max_len, data, 4), max_len < 1 || max_len > 4096))
        status = load_error(t, path, "header max_token_length out of range 1..4096", 0, size < 4 ? -1 : max_len);
    for (uint32_t i = 0; i < vocab_size && status == VKL_OK; i++) {
        int32_t len = -1;
        if (size - off < 8) { status = load_error(t, path, "file ends before its score and length", i, (long long)off); break; }
        memcpy(&t->scores[i], data + off, 4);
        memcpy(&len, data + off + 4, 4);
        off += 8;
        if (len < 0 || len > max_len || (uint64_t)len > size - off) { status = load_error(t, path, "bad piece length", i, len); break; }
        t->pieces[i] = malloc((size_t)len + 1);
        if (!t->pieces[i]) { status = load_error(t, path, "out of memory", i, len); break; }
        memcpy(t->pieces[i], data + off, (size_t)len);
        t->pieces[i][len] = 0;
        t->types[i] = VKL_TOKEN_NORMAL;
        off += (uint64_t)len;
    }
    if (status != VKL_OK) return status;
    build_lookup(t);
    return finish_load(t);
}

vkl_status vkl_tokenizer_load_llama2c(const char *path, uint32_t vocab_size, vkl_tokenizer *t)
{
    uint8_t *data;
    uint64_t size;
    memset(t, 0, sizeof *t);
    VKL_TRY(vkl_read_file(path, 1ull << 30, (void **)&data, &size));
    vkl_status status = vkl_tokenizer_parse_llama2c(path, data, size, vocab_size, t);
    free(data);
    return status;
}

void vkl_tokenizer_free(vkl_tokenizer *t)
{
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        if (t->pieces) free(t->pieces[i]);
        if (t->texts) free(t->texts[i]);
    }
    free(t->pieces);
    free(t->texts);
    free(t->scores);
    free(t->types);
    free(t->strip);
    shfree(t->lookup);
    arrfree(t->specials);
    vkl_bpe_free(t->bpe);
    memset(t, 0, sizeof *t);
}

static const vkl_gguf_kv *array_of(const vkl_gguf *g, const char *key, uint32_t type, uint64_t count)
{
    const vkl_gguf_kv *kv = vkl_gguf_find(g, key);
    if (kv && kv->type == GGUF_ARRAY && kv->array_type == type && kv->array_count == count) return kv;
    vkl_log_error("%s: %s is missing or not an array of %llu elements of type %u", g->path, key,
                  (unsigned long long)count, type);
    return NULL;
}

// An optional numeric key: false only when it is present and invalid (logged).
static bool optional_u32(const vkl_gguf *g, const char *key, uint32_t *out)
{
    return !vkl_gguf_find(g, key) || vkl_gguf_get_u32(g, key, out, true);
}

static bool optional_bool(const vkl_gguf *g, const char *key, bool *out)
{
    uint32_t v = *out;
    if (!optional_u32(g, key, &v)) return false;
    *out = v != 0;
    return true;
}

// llama.cpp's defaults for the special ids and flags of each kind (a pre-tokenizer may change them).
static void default_special_ids(vkl_tokenizer *t)
{
    bool spm = t->kind == VKL_TOKENIZER_SPM;
    t->bos = spm ? 1 : 11;
    t->eos = spm ? 2 : 11;
    t->unk = 0;
    t->add_bos = spm;
    t->add_eos = false;
    t->add_space_prefix = spm;
}

// The special ids and flags the file states.
static vkl_status load_special_ids(const vkl_gguf *g, vkl_tokenizer *t)
{
    bool spm = t->kind == VKL_TOKENIZER_SPM;
    if (!optional_u32(g, "tokenizer.ggml.bos_token_id", &t->bos) || !optional_u32(g, "tokenizer.ggml.eos_token_id", &t->eos) ||
        !optional_u32(g, "tokenizer.ggml.unknown_token_id", &t->unk) ||
        !optional_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos) ||
        !optional_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos) ||
        !optional_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix))
        return VKL_ERR_INVALID_ARG;
    if ((t->add_bos && t->bos >= t->vocab_size) || (t->add_eos && t->eos >= t->vocab_size) ||
        (spm && (t->bos >= t->vocab_size || t->eos >= t->vocab_size))) {
        vkl_log_error("%s: bos_token_id %u or eos_token_id %u outside the vocabulary of %u", g->path, t->bos, t->eos,
                      t->vocab_size);
        return VKL_ERR_INVALID_ARG;
    }
    if (t->unk >= t->vocab_size) t->unk = 0;
    return VKL_OK;
}

// Pieces, scores and token types.
static vkl_status load_vocabulary(const vkl_gguf *g, const vkl_gguf_kv *tokens, vkl_tokenizer *t)
{
    const vkl_gguf_kv *scores = NULL, *types = vkl_gguf_find(g, "tokenizer.ggml.token_type");
    if (t->kind == VKL_TOKENIZER_SPM && !(scores = array_of(g, "tokenizer.ggml.scores", GGUF_FLOAT32, t->vocab_size)))
        return VKL_ERR_INVALID_ARG;
    if (types && !array_of(g, "tokenizer.ggml.token_type", GGUF_INT32, t->vocab_size)) return VKL_ERR_INVALID_ARG;
    t->pieces = calloc(t->vocab_size, sizeof *t->pieces);
    t->scores = calloc(t->vocab_size, sizeof *t->scores);
    t->types = malloc(t->vocab_size);
    if (!t->pieces || !t->scores || !t->types) return VKL_ERR_OUT_OF_MEMORY;
    if (scores) memcpy(t->scores, scores->array_data, t->vocab_size * sizeof *t->scores);
    const uint8_t *cursor = tokens->array_data;
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        vkl_gguf_string s = vkl_gguf_next_string(&cursor);
        int32_t type = VKL_TOKEN_NORMAL;
        if (types) memcpy(&type, types->array_data + 4ull * i, 4);
        if (type < 0 || type > VKL_TOKEN_BYTE) {
            vkl_log_error("%s: tokenizer.ggml.token_type[%u] = %d is not a token type 0..6", g->path, i, type);
            return VKL_ERR_INVALID_ARG;
        }
        if (memchr(s.text, 0, s.length)) {
            vkl_log_error("%s: token %u has a NUL byte in its text", g->path, i);
            return VKL_ERR_INVALID_ARG;
        }
        t->types[i] = (uint8_t)type;
        if (!(t->pieces[i] = malloc(s.length + 1))) return VKL_ERR_OUT_OF_MEMORY;
        memcpy(t->pieces[i], s.text, s.length);
        t->pieces[i][s.length] = 0;
    }
    build_lookup(t);
    return VKL_OK;
}

// True when general.name holds one of `names` (ASCII, any case).
static bool model_name_has(const vkl_gguf *g, const char *const *names, size_t count)
{
    const vkl_gguf_kv *name = vkl_gguf_find(g, "general.name");
    if (!name || name->type != GGUF_STRING) return false;
    for (size_t n = 0; n < count; n++) {
        size_t len = strlen(names[n]);
        for (uint64_t at = 0; at + len <= name->string.length; at++) {
            size_t i = 0;
            while (i < len && tolower((unsigned char)name->string.text[at + i]) == names[n][i]) i++;
            if (i == len) return true;
        }
    }
    return false;
}

// Special tokens that swallow the whitespace beside them. GGUF files do not record this (their
// tokenizer.json does); llama.cpp sets it by model name, for Phi-3 alone: every special token but
// <unk>, <s> and <|endoftext|> takes the whitespace after it.
static vkl_status load_strip_rules(const vkl_gguf *g, vkl_tokenizer *t)
{
    static const char *const PHI3[] = {"phi-3", "phi3"};
    if (!model_name_has(g, PHI3, 2)) return VKL_OK;
    if (!(t->strip = calloc(t->vocab_size, 1))) return VKL_ERR_OUT_OF_MEMORY;
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        const char *p = t->pieces[i];
        bool special = t->types[i] == VKL_TOKEN_CONTROL || t->types[i] == VKL_TOKEN_USER_DEFINED ||
                       t->types[i] == VKL_TOKEN_UNKNOWN || !strcmp(p, "</s>");
        if (special && strcmp(p, "<unk>") && strcmp(p, "<s>") && strcmp(p, "<|endoftext|>")) t->strip[i] = STRIP_RIGHT;
    }
    return VKL_OK;
}

vkl_status vkl_tokenizer_load_gguf(const vkl_gguf *g, uint32_t vocab_size, vkl_tokenizer *t)
{
    memset(t, 0, sizeof *t);
    const vkl_gguf_kv *model = vkl_gguf_find(g, "tokenizer.ggml.model"), *tokens = vkl_gguf_find(g, "tokenizer.ggml.tokens");
    bool spm = model && model->type == GGUF_STRING && vkl_gguf_string_is(model->string, "llama");
    bool bpe = model && model->type == GGUF_STRING && vkl_gguf_string_is(model->string, "gpt2");
    if (!spm && !bpe) {
        vkl_log_error("%s: tokenizer.ggml.model is missing or not one vkllm knows: \"llama\" (SentencePiece), "
                      "\"gpt2\" (byte-level BPE)", g->path);
        return VKL_ERR_UNSUPPORTED;
    }
    if (!tokens || tokens->type != GGUF_ARRAY || tokens->array_type != GGUF_STRING || tokens->array_count == 0 ||
        tokens->array_count > (1u << 22) || (vocab_size && tokens->array_count != vocab_size)) {
        vkl_log_error("%s: tokenizer.ggml.tokens must be %u strings", g->path, vocab_size);
        return VKL_ERR_INVALID_ARG;
    }
    t->kind = spm ? VKL_TOKENIZER_SPM : VKL_TOKENIZER_BPE;
    t->vocab_size = (uint32_t)tokens->array_count;
    default_special_ids(t);
    vkl_status status = load_vocabulary(g, tokens, t);
    if (status == VKL_OK && bpe) status = vkl_bpe_load(g, t);
    if (status == VKL_OK) status = load_special_ids(g, t);
    if (status == VKL_OK) status = load_strip_rules(g, t);
    if (status != VKL_OK) {
        if (status == VKL_ERR_OUT_OF_MEMORY) vkl_log_error("%s: out of memory loading the vocabulary", g->path);
        vkl_tokenizer_free(t);
        return status;
    }
    return finish_load(t);
}

// ---- encoding ----

// Not const: stb_ds keeps its lookup scratch in the table header.
static int64_t lookup(vkl_tokenizer *t, const char *piece)
{
    ptrdiff_t i = shgeti(t->lookup, piece);
    return i < 0 ? -1 : (int64_t)t->lookup[i].value;
}

// One token per UTF-8 character of text[0..length), or its bytes' tokens when absent.
static void encode_characters(vkl_tokenizer *t, const char *text, size_t length, uint32_t **tokens)
{
    char buffer[8];
    for (size_t at = 0; at < length;) {
        size_t len = utf8_sequence_length((unsigned char)text[at]);
        if (len == 0 || len > length - at) len = 1;  // text is validated; llama2.c's own files need not be
        memcpy(buffer, text + at, len);
        buffer[len] = 0;
        int64_t id = lookup(t, buffer);
        if (id >= 0) arrput(*tokens, (uint32_t)id);
        else
            for (size_t i = 0; i < len; i++) arrput(*tokens, (uint32_t)t->byte_tokens[(unsigned char)buffer[i]]);
        at += len;
    }
}

typedef struct spm_symbol { uint32_t id; ptrdiff_t prev, next; } spm_symbol;

// *key = the two pieces joined, NUL-terminated (a piece may be empty).
static void join_pieces(char **key, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    arrsetlen(*key, na + nb + 1);
    memcpy(*key, a, na);
    memcpy(*key + na, b, nb);
    (*key)[na + nb] = 0;
}

// Queues the merge of symbols `l` and `r` when their joined pieces are a piece, by its score.
static void push_pair(vkl_tokenizer *t, const spm_symbol *symbols, ptrdiff_t l, ptrdiff_t r, char **key,
                      vkl_merge **heap)
{
    if (l < 0 || r < 0) return;
    join_pieces(key, t->pieces[symbols[l].id], t->pieces[symbols[r].id]);
    int64_t id = lookup(t, *key);
    if (id >= 0) vkl_merge_push(heap, (vkl_merge){ -(double)t->scores[id], l, r, symbols[l].id, symbols[r].id, id });
}

// Merges the best-scoring adjacent pair of tokens[first..] until none is in the vocabulary; the
// leftmost pair wins ties (llama2.c's and llama.cpp's order, through a priority queue).
static vkl_status merge_pairs(vkl_tokenizer *t, uint32_t **tokens, size_t first)
{
    ptrdiff_t n = arrlen(*tokens) - (ptrdiff_t)first;
    spm_symbol *symbols = NULL;
    vkl_merge *heap = NULL;
    char *key = NULL;
    for (ptrdiff_t i = 0; i < n; i++) arrput(symbols, ((spm_symbol){ (*tokens)[first + (size_t)i], i - 1, i + 1 < n ? i + 1 : -1 }));
    for (ptrdiff_t i = 1; i < n; i++) push_pair(t, symbols, i - 1, i, &key, &heap);
    while (arrlen(heap)) {
        vkl_merge m = vkl_merge_pop(heap);
        spm_symbol *l = &symbols[m.left], *r = &symbols[m.right];
        if (l->next != m.right || l->id != m.left_stamp || r->id != m.right_stamp) continue;  // outdated
        l->id = (uint32_t)m.result;
        l->next = r->next;
        if (r->next >= 0) symbols[r->next].prev = m.left;
        r->prev = r->next = -2;  // out of the list
        push_pair(t, symbols, l->prev, m.left, &key, &heap);
        push_pair(t, symbols, m.left, l->next, &key, &heap);
    }
    arrsetlen(*tokens, first);
    for (ptrdiff_t i = n ? 0 : -1; i >= 0; i = symbols[i].next) arrput(*tokens, symbols[i].id);
    arrfree(symbols);
    arrfree(heap);
    arrfree(key);
    return VKL_OK;
}

// SentencePiece: text[0..length) with a leading space if asked, spaces escaped to U+2581 for GGUF
// vocabularies (llama2.c's pieces hold plain spaces and it adds the space as a token of its own).
static vkl_status encode_spm(vkl_tokenizer *t, const char *text, size_t length, bool space_prefix, uint32_t **tokens)
{
    size_t first = (size_t)arrlen(*tokens);
    if (t->kind == VKL_TOKENIZER_LLAMA2C) {
        int64_t space = length ? lookup(t, " ") : -1;
        if (space >= 0) arrput(*tokens, (uint32_t)space);
        encode_characters(t, text, length, tokens);
        return merge_pairs(t, tokens, first);
    }
    char *escaped = NULL;
    static const char SPACE[] = "\xe2\x96\x81";
    if (space_prefix) memcpy(arraddnptr(escaped, 3), SPACE, 3);
    for (size_t i = 0; i < length; i++) {
        if (text[i] == ' ') memcpy(arraddnptr(escaped, 3), SPACE, 3);
        else arrput(escaped, text[i]);
    }
    encode_characters(t, escaped, (size_t)arrlen(escaped), tokens);
    arrfree(escaped);
    return merge_pairs(t, tokens, first);
}

static vkl_status encode_fragment(vkl_tokenizer *t, const char *text, size_t length, bool space_prefix, uint32_t **tokens)
{
    if (t->kind == VKL_TOKENIZER_BPE) return vkl_bpe_encode(t, text, length, tokens);
    return encode_spm(t, text, length, space_prefix, tokens);
}

// A piece of the text to encode, or a special token found in it.
typedef struct fragment {
    size_t offset, length;
    int64_t token;  // -1: text
} fragment;

// The first occurrence of needle[0..n) in text[0..length), or length.
static size_t find_bytes(const char *text, size_t length, const char *needle, size_t n)
{
    for (size_t at = 0; at + n <= length;) {
        const char *c = memchr(text + at, needle[0], length - n + 1 - at);
        if (!c) break;
        at = (size_t)(c - text);
        if (memcmp(c, needle, n) == 0) return at;
        at++;
    }
    return length;
}

// Splits the text fragments around every occurrence of special token `id` (llama.cpp's order:
// each special token in turn, longest first, over what the ones before left as text).
static fragment *split_special(const vkl_tokenizer *t, const char *text, fragment *in, uint32_t id)
{
    const char *piece = t->pieces[id];
    size_t n = strlen(piece);
    fragment *out = NULL;
    for (ptrdiff_t i = 0; i < arrlen(in); i++) {
        fragment f = in[i];
        if (f.token >= 0) { arrput(out, f); continue; }
        for (;;) {
            size_t at = find_bytes(text + f.offset, f.length, piece, n);
            if (at == f.length) break;
            size_t left = at;
            if (t->strip && (t->strip[id] & STRIP_LEFT))
                while (left && isspace((unsigned char)text[f.offset + left - 1])) left--;
            if (left) arrput(out, ((fragment){f.offset, left, -1}));
            arrput(out, ((fragment){f.offset + at, n, id}));
            f.offset += at + n;
            f.length -= at + n;
            if (t->strip && (t->strip[id] & STRIP_RIGHT))
                while (f.length && isspace((unsigned char)text[f.offset])) f.offset++, f.length--;
        }
        if (f.length) arrput(out, f);
    }
    arrfree(in);
    return out;
}

// The text cut into plain text and the special tokens that `flags` lets through.
static fragment *find_specials(const vkl_tokenizer *t, const char *text, size_t length, unsigned flags)
{
    fragment *fragments = NULL;
    if (length) arrput(fragments, ((fragment){0, length, -1}));
    for (ptrdiff_t s = 0; s < arrlen(t->specials); s++) {
        uint32_t id = t->specials[s];
        if (t->types[id] == VKL_TOKEN_USER_DEFINED || (flags & VKL_ENCODE_PARSE_SPECIAL))
            fragments = split_special(t, text, fragments, id);
    }
    return fragments;
}

vkl_status vkl_tokenizer_encode(vkl_tokenizer *t, const char *text, unsigned flags, uint32_t **tokens)
{
    size_t length = strlen(text), bad = vkl_utf8_invalid_at(text, length);
    if (bad != length) {
        vkl_log_error("text is not valid UTF-8: byte %zu (0x%02x)", bad, (unsigned char)text[bad]);
        return VKL_ERR_INVALID_ARG;
    }
    if ((flags & VKL_ENCODE_ADD_SPECIAL) && t->add_bos) arrput(*tokens, t->bos);
    fragment *fragments = find_specials(t, text, length, flags);
    vkl_status status = VKL_OK;
    bool after_special = true;  // SentencePiece puts its space prefix at the start and after each special token
    for (ptrdiff_t i = 0; i < arrlen(fragments) && status == VKL_OK; i++) {
        if (fragments[i].token >= 0) arrput(*tokens, (uint32_t)fragments[i].token);
        else status = encode_fragment(t, text + fragments[i].offset, fragments[i].length,
                                      t->add_space_prefix && after_special, tokens);
        after_special = fragments[i].token >= 0;
    }
    arrfree(fragments);
    if ((flags & VKL_ENCODE_ADD_SPECIAL) && t->add_eos) arrput(*tokens, t->eos);
    return status;
}

// ---- decoding ----

const char *vkl_tokenizer_decode(const vkl_tokenizer *t, uint32_t prev, uint32_t token)
{
    if (token >= t->vocab_size) return "";
    const char *text = t->texts[token];
    if (t->kind != VKL_TOKENIZER_BPE && prev == t->bos && text[0] == ' ') text++;
    return text;
}

bool vkl_piece_printable(const char *piece)
{
    if (!piece[0]) return false;
    if (piece[1]) return true;
    unsigned char b = (unsigned char)piece[0];
    return isprint(b) || isspace(b);
}
