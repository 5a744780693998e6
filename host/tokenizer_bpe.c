// Byte-level BPE, as GPT-2 defined it and Llama 3, Qwen2, DeepSeek and others use it:
// 1. the pre-tokenizer's regexes cut the text into words (host/pretokenizers.c, run by PCRE2);
// 2. each byte of a word becomes a printable character (GPT-2's bytes_to_unicode: bytes that
//    are printable Latin-1 stand for themselves, the other 68 for U+0100 onwards, in order);
// 3. within a word, the adjacent pair with the lowest merge rank (tokenizer.ggml.merges, "left
//    right", rank = position) is merged, the leftmost first at a tie, until no pair has a rank;
// 4. each piece left is its token; a piece missing from the vocabulary gives its bytes' tokens.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/merge_queue.h"
#include "host/pretokenizers.h"
#include "host/tokenizer.h"

// Backtracking budget of one regex match: a hostile prompt gets an error instead of a hang.
enum { MATCH_LIMIT = 10 * 1000 * 1000, DEPTH_LIMIT = 100 * 1000 };

typedef struct rank_entry { char *key; uint32_t value; } rank_entry;

struct vkl_bpe {
    const vkl_pretokenizer *pre;
    pcre2_code *regexes[VKL_PRETOKENIZER_MAX_REGEXES];
    pcre2_match_data *match;
    pcre2_match_context *limits;
    rank_entry *ranks;  // stb_ds map "left right" -> merge rank
    char *scratch;      // stb_ds: a word's bytes as characters
    char byte_chars[256][2];  // each byte's character, UTF-8 (U+0021 .. U+0143: 1 or 2 bytes)
    uint8_t byte_char_length[256];
    int16_t char_byte[324];   // the byte of each code point below U+0144, or -1
};

// ---- GPT-2's byte <-> character map ----

static bool byte_is_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

static void build_byte_map(struct vkl_bpe *bpe)
{
    for (int cp = 0; cp < 324; cp++) bpe->char_byte[cp] = -1;
    for (unsigned b = 0, others = 0; b < 256; b++) {
        unsigned cp = byte_is_printable(b) ? b : 256 + others++;  // the others in order from U+0100
        bpe->char_byte[cp] = (int16_t)b;
        if (cp < 0x80) {
            bpe->byte_chars[b][0] = (char)cp;
            bpe->byte_char_length[b] = 1;
        } else {
            bpe->byte_chars[b][0] = (char)(0xC0 | (cp >> 6));
            bpe->byte_chars[b][1] = (char)(0x80 | (cp & 0x3F));
            bpe->byte_char_length[b] = 2;
        }
    }
}

// The code point at s (valid UTF-8) and its length in *len.
static uint32_t get_utf8(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80) { *len = 1; return s[0]; }
    if (s[0] < 0xE0) { *len = 2; return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu); }
    if (s[0] < 0xF0) { *len = 3; return ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu); }
    *len = 4;
    return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
}

char *vkl_bpe_piece_bytes(const struct vkl_bpe *bpe, const char *piece)
{
    size_t n = strlen(piece), o = 0;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    for (size_t i = 0, len; i < n; i += len) {
        int byte = -1;
        if (vkl_utf8_invalid_at(piece + i, n - i) == 0) len = 1;  // not a character: the byte itself
        else {
            uint32_t cp = get_utf8((const unsigned char *)piece + i, &len);
            if (cp < 324) byte = bpe->char_byte[cp];
        }
        if (byte >= 0) out[o++] = (char)byte;
        else memcpy(out + o, piece + i, len), o += len;
    }
    out[o] = 0;
    return out;
}

// ---- loading ----

static vkl_status compile_regexes(const char *path, struct vkl_bpe *bpe)
{
    for (int r = 0; r < VKL_PRETOKENIZER_MAX_REGEXES && bpe->pre->regexes[r]; r++) {
        int code;
        PCRE2_SIZE offset;
        bpe->regexes[r] = pcre2_compile((PCRE2_SPTR)bpe->pre->regexes[r], PCRE2_ZERO_TERMINATED,
                                        PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &offset, NULL);
        if (!bpe->regexes[r]) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(code, message, sizeof message);
            vkl_log_error("%s: pre-tokenizer %s: regex %d does not compile at %zu: %s", path, bpe->pre->name, r,
                          (size_t)offset, (const char *)message);
            return VKL_ERR_UNSUPPORTED;  // this PCRE2 lacks something the pattern needs
        }
        pcre2_jit_compile(bpe->regexes[r], PCRE2_JIT_COMPLETE);  // faster where PCRE2 has a JIT; optional
    }
    bpe->match = pcre2_match_data_create(1, NULL);
    bpe->limits = pcre2_match_context_create(NULL);
    if (!bpe->match || !bpe->limits) return VKL_ERR_OUT_OF_MEMORY;
    pcre2_set_match_limit(bpe->limits, MATCH_LIMIT);
    pcre2_set_depth_limit(bpe->limits, DEPTH_LIMIT);
    return VKL_OK;
}

static vkl_status load_pretokenizer(const vkl_gguf *g, vkl_tokenizer *t)
{
    const vkl_gguf_kv *pre = vkl_gguf_find(g, "tokenizer.ggml.pre");
    if (!pre) {
        vkl_log_warning("%s: tokenizer.ggml.pre is missing; using the default pre-tokenizer, which may not be "
                        "the model's own", g->path);
        t->bpe->pre = vkl_pretokenizer_find("default", 7);
    } else if (pre->type != GGUF_STRING || !(t->bpe->pre = vkl_pretokenizer_find(pre->string.text, pre->string.length))) {
        char names[512];
        vkl_pretokenizer_names(names, sizeof names);
        vkl_log_error("%s: tokenizer.ggml.pre \"%.*s\" is not a pre-tokenizer vkllm knows (%s)", g->path,
                      pre->type == GGUF_STRING ? (int)(pre->string.length > 64 ? 64 : pre->string.length) : 0,
                      pre->type == GGUF_STRING ? pre->string.text : "", names);
        return VKL_ERR_UNSUPPORTED;
    }
    if (t->bpe->pre->ignore_merges) t->add_bos = true;  // llama.cpp's default for Llama 3's vocabulary
    return compile_regexes(g->path, t->bpe);
}

static int64_t lookup_n(vkl_tokenizer *t, const char *text, size_t n, char **key)
{
    arrsetlen(*key, n + 1);
    if (n) memcpy(*key, text, n);
    (*key)[n] = 0;
    ptrdiff_t at = shgeti(t->lookup, *key);
    return at < 0 ? -1 : (int64_t)t->lookup[at].value;
}

static vkl_status load_merges(const vkl_gguf *g, vkl_tokenizer *t)
{
    const vkl_gguf_kv *merges = vkl_gguf_find(g, "tokenizer.ggml.merges");
    if (!merges || merges->type != GGUF_ARRAY || merges->array_type != GGUF_STRING || merges->array_count > (1u << 24)) {
        vkl_log_error("%s: tokenizer.ggml.merges is missing or not an array of strings (byte-level BPE needs it)", g->path);
        return VKL_ERR_INVALID_ARG;
    }
    sh_new_strdup(t->bpe->ranks);
    const uint8_t *cursor = merges->array_data;
    for (uint32_t i = 0; i < merges->array_count; i++) {
        vkl_gguf_string s = vkl_gguf_next_string(&cursor);
        const char *space = s.length > 1 ? memchr(s.text + 1, ' ', s.length - 1) : NULL;
        size_t left = space ? (size_t)(space - s.text) : 0, right = space ? s.length - left - 1 : 0;
        if (!space || right == 0 || memchr(s.text, 0, s.length) || lookup_n(t, s.text, left, &t->bpe->scratch) < 0 ||
            lookup_n(t, space + 1, right, &t->bpe->scratch) < 0) {
            vkl_log_error("%s: tokenizer.ggml.merges[%u] \"%.*s\" is not two tokens of the vocabulary separated by a space",
                          g->path, i, (int)(s.length > 64 ? 64 : s.length), s.text);
            return VKL_ERR_INVALID_ARG;
        }
        arrsetlen(t->bpe->scratch, 0);
        memcpy(arraddnptr(t->bpe->scratch, s.length), s.text, s.length);
        arrput(t->bpe->scratch, 0);
        if (shgeti(t->bpe->ranks, t->bpe->scratch) < 0) shput(t->bpe->ranks, t->bpe->scratch, i);
    }
    return VKL_OK;
}

// Every byte should have a token of its own, or text with it cannot be encoded whole.
static void check_byte_tokens(const vkl_gguf *g, vkl_tokenizer *t)
{
    unsigned missing = 0;
    for (unsigned b = 0; b < 256; b++)  // 0xC0, 0xC1 and 0xF5 .. 0xFF never occur in UTF-8 text
        missing += b != 0xC0 && b != 0xC1 && b < 0xF5 && lookup_n(t, t->bpe->byte_chars[b], t->bpe->byte_char_length[b], &t->bpe->scratch) < 0;
    if (missing)
        vkl_log_warning("%s: the vocabulary has no token for %u of the 243 bytes of UTF-8 text; text with them loses those bytes "
                        "(as llama.cpp encodes it)", g->path, missing);
}

vkl_status vkl_bpe_load(const vkl_gguf *g, vkl_tokenizer *t)
{
    if (!(t->bpe = calloc(1, sizeof *t->bpe))) return VKL_ERR_OUT_OF_MEMORY;
    build_byte_map(t->bpe);
    VKL_TRY(load_pretokenizer(g, t));
    VKL_TRY(load_merges(g, t));
    check_byte_tokens(g, t);
    return VKL_OK;
}

void vkl_bpe_free(struct vkl_bpe *bpe)
{
    if (!bpe) return;
    for (int r = 0; r < VKL_PRETOKENIZER_MAX_REGEXES; r++) pcre2_code_free(bpe->regexes[r]);
    pcre2_match_data_free(bpe->match);
    pcre2_match_context_free(bpe->limits);
    shfree(bpe->ranks);
    arrfree(bpe->scratch);
    free(bpe);
}

// ---- pre-tokenizing ----

typedef struct span { size_t offset, length; } span;

// Cuts each span of `in` at the matches of `regex`, keeping matches and the text between them.
static vkl_status split_spans(struct vkl_bpe *bpe, pcre2_code *regex, const char *text, span *in, span **out)
{
    for (ptrdiff_t i = 0; i < arrlen(in); i++) {
        const char *subject = text + in[i].offset;  // each span on its own: $ and lookahead end with it
        size_t length = in[i].length, at = 0;
        while (at < length) {
            int rc = pcre2_match(regex, (PCRE2_SPTR)subject, length, at, PCRE2_NO_UTF_CHECK, bpe->match, bpe->limits);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR message[256];
                pcre2_get_error_message(rc, message, sizeof message);
                vkl_log_error("pre-tokenizer %s: text at byte %zu: %s", bpe->pre->name, in[i].offset + at,
                              (const char *)message);
                return VKL_ERR_INVALID_ARG;
            }
            PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(bpe->match);
            size_t start = ovector[0], end = ovector[1];
            if (end == start) {  // an empty match cuts nothing: step over one character
                at = start + 1;
                while (at < length && ((unsigned char)subject[at] & 0xC0) == 0x80) at++;
                continue;
            }
            if (start > at) arrput(*out, ((span){in[i].offset + at, start - at}));
            arrput(*out, ((span){in[i].offset + start, end - start}));
            at = end;
        }
        if (at < length) arrput(*out, ((span){in[i].offset + at, length - at}));
    }
    return VKL_OK;
}

static vkl_status pretokenize(struct vkl_bpe *bpe, const char *text, size_t length, span **words)
{
    arrput(*words, ((span){0, length}));
    for (int r = 0; r < VKL_PRETOKENIZER_MAX_REGEXES && bpe->regexes[r]; r++) {
        span *next = NULL;
        vkl_status status = split_spans(bpe, bpe->regexes[r], text, *words, &next);
        arrfree(*words);
        *words = next;
        VKL_TRY(status);
    }
    return VKL_OK;
}

// ---- merging ----

typedef struct symbol { size_t start, n; ptrdiff_t prev, next; } symbol;

// The rank of merging symbols `left` and `right` of `word`, or UINT32_MAX.
static uint32_t merge_rank(struct vkl_bpe *bpe, const char *word, const symbol *left, const symbol *right, char **key)
{
    arrsetlen(*key, 0);
    memcpy(arraddnptr(*key, left->n), word + left->start, left->n);
    arrput(*key, ' ');
    memcpy(arraddnptr(*key, right->n), word + right->start, right->n);
    arrput(*key, 0);
    ptrdiff_t at = shgeti(bpe->ranks, *key);
    return at < 0 ? UINT32_MAX : bpe->ranks[at].value;
}

static void add_bigram(struct vkl_bpe *bpe, const char *word, symbol *symbols, ptrdiff_t left, ptrdiff_t right,
                       vkl_merge **heap, char **key)
{
    if (left < 0 || right < 0) return;
    uint32_t rank = merge_rank(bpe, word, &symbols[left], &symbols[right], key);
    if (rank != UINT32_MAX) vkl_merge_push(heap, (vkl_merge){rank, left, right, symbols[left].n, symbols[right].n});
}

// The word's characters as symbols, merged by rank.
static symbol *merge_word(struct vkl_bpe *bpe, const char *word, size_t n, char **key)
{
    symbol *symbols = NULL;
    vkl_merge *heap = NULL;  // stamps: the two symbols' lengths, which only merging changes
    for (size_t at = 0, len; at < n; at += len) {
        get_utf8((const unsigned char *)word + at, &len);
        ptrdiff_t i = arrlen(symbols);
        arrput(symbols, ((symbol){at, len, i - 1, at + len < n ? i + 1 : -1}));
    }
    for (ptrdiff_t i = 1; i < arrlen(symbols); i++) add_bigram(bpe, word, symbols, i - 1, i, &heap, key);
    while (arrlen(heap)) {
        vkl_merge b = vkl_merge_pop(heap);
        symbol *l = &symbols[b.left], *r = &symbols[b.right];
        if (l->n != b.left_stamp || r->n != b.right_stamp || l->next != b.right) continue;  // outdated by another merge
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) symbols[r->next].prev = b.left;
        add_bigram(bpe, word, symbols, l->prev, b.left, &heap, key);
        add_bigram(bpe, word, symbols, b.left, l->next, &heap, key);
    }
    arrfree(heap);
    return symbols;
}

// The tokens of one word, given as its byte characters.
static void encode_word(vkl_tokenizer *t, const char *word, size_t n, char **key, uint32_t **tokens)
{
    int64_t whole = t->bpe->pre->ignore_merges ? lookup_n(t, word, n, key) : -1;
    if (whole >= 0) {
        arrput(*tokens, (uint32_t)whole);
        return;
    }
    symbol *symbols = merge_word(t->bpe, word, n, key);
    for (ptrdiff_t i = arrlen(symbols) ? 0 : -1; i >= 0; i = symbols[i].next) {
        int64_t id = lookup_n(t, word + symbols[i].start, symbols[i].n, key);
        if (id >= 0) {
            arrput(*tokens, (uint32_t)id);
            continue;
        }
        for (size_t b = 0; b < symbols[i].n; b++) {  // llama.cpp: each byte as a piece of its own, when there is one
            int64_t byte = lookup_n(t, word + symbols[i].start + b, 1, key);
            if (byte >= 0) arrput(*tokens, (uint32_t)byte);
        }
    }
    arrfree(symbols);
}

vkl_status vkl_bpe_encode(vkl_tokenizer *t, const char *text, size_t length, uint32_t **tokens)
{
    span *words = NULL;
    vkl_status status = pretokenize(t->bpe, text, length, &words);
    char *key = NULL;
    for (ptrdiff_t w = 0; w < arrlen(words) && status == VKL_OK; w++) {
        arrsetlen(t->bpe->scratch, 0);
        for (size_t i = 0; i < words[w].length; i++) {
            unsigned char b = (unsigned char)text[words[w].offset + i];
            memcpy(arraddnptr(t->bpe->scratch, t->bpe->byte_char_length[b]), t->bpe->byte_chars[b], t->bpe->byte_char_length[b]);
        }
        encode_word(t, t->bpe->scratch, (size_t)arrlen(t->bpe->scratch), &key, tokens);
    }
    arrfree(key);
    arrfree(words);
    return status;
}
