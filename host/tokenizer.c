#include "host/tokenizer.h"

#include <ctype.h>
#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/model.h"

static vkl_status load_error(vkl_tokenizer *t, const char *path, const char *what, uint32_t token, long long value)
{
    vkl_log_error("%s: token %u: %s (%lld)", path, token, what, value);
    vkl_tokenizer_free(t);
    return VKL_ERR_INVALID_ARG;
}

static void build_tables(vkl_tokenizer *t)
{
    sh_new_strdup(t->lookup);  // not sh_new_arena: its blocks index past a char[8] member (UBSan)
    for (uint32_t i = 0; i < t->vocab_size; i++)
        if (shgeti(t->lookup, t->pieces[i]) < 0) shput(t->lookup, t->pieces[i], i);  // first id wins
    for (int b = 0; b < 256; b++) {
        t->byte_pieces[b][0] = (char)b;
        t->byte_pieces[b][1] = 0;
    }
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
    t->vocab_size = vocab_size;
    t->bos = 1;
    t->eos = 2;
    t->pieces = calloc(vocab_size, sizeof *t->pieces);
    t->scores = calloc(vocab_size, sizeof *t->scores);
    vkl_status status = VKL_OK;
    int32_t max_len = 0;
    uint64_t off = 4;
    if (vocab_size < 3) status = load_error(t, path, "fewer tokens than <unk>, <s>, </s>", 0, vocab_size);
    else if (!t->pieces || !t->scores) status = load_error(t, path, "out of memory", 0, vocab_size);
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
        off += (uint64_t)len;
    }
    if (status != VKL_OK) return status;
    t->max_piece_length = (uint32_t)max_len;
    build_tables(t);
    return VKL_OK;
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
    if (t->pieces)
        for (uint32_t i = 0; i < t->vocab_size; i++) free(t->pieces[i]);
    free(t->pieces);
    free(t->scores);
    shfree(t->lookup);
    memset(t, 0, sizeof *t);
}

// Not const: stb_ds keeps its lookup scratch in the table header.
static int64_t lookup(vkl_tokenizer *t, const char *piece)
{
    ptrdiff_t i = shgeti(t->lookup, piece);
    return i < 0 ? -1 : (int64_t)t->lookup[i].value;
}

// One token per UTF-8 character, or its bytes as byte tokens (id = byte + 3) when absent.
static void encode_characters(vkl_tokenizer *t, const char *text, uint32_t **tokens)
{
    char buffer[8];
    size_t len = 0;
    for (const char *c = text; *c; c++) {
        if ((*c & 0xC0) != 0x80) len = 0;  // a new character starts
        buffer[len++] = *c;
        buffer[len] = 0;
        if ((c[1] & 0xC0) == 0x80 && len < 4) continue;
        int64_t id = lookup(t, buffer);
        if (id >= 0) arrput(*tokens, (uint32_t)id);
        else  // byte fallback: <0xXX> is id 3 + XX; a vocabulary without byte pieces gets <unk> (0)
            for (size_t i = 0; i < len; i++) {
                uint32_t byte_id = (uint32_t)(unsigned char)buffer[i] + 3;
                arrput(*tokens, byte_id < t->vocab_size ? byte_id : 0);
            }
        len = 0;
    }
}

// Merges the best-scoring adjacent pair until none is in the vocabulary; the first pair wins ties.
static void merge_pairs(vkl_tokenizer *t, uint32_t *tokens, ptrdiff_t *count, char *buffer, size_t first)
{
    for (;;) {
        float best_score = -1e10f;
        int64_t best_id = -1;
        ptrdiff_t best_at = -1;
        for (ptrdiff_t i = (ptrdiff_t)first; i + 1 < *count; i++) {
            snprintf(buffer, 2 * t->max_piece_length + 2, "%s%s", t->pieces[tokens[i]], t->pieces[tokens[i + 1]]);
            int64_t id = lookup(t, buffer);
            if (id >= 0 && t->scores[id] > best_score) {
                best_score = t->scores[id];
                best_id = id;
                best_at = i;
            }
        }
        if (best_at < 0) return;
        tokens[best_at] = (uint32_t)best_id;
        memmove(tokens + best_at + 1, tokens + best_at + 2, (size_t)(*count - best_at - 2) * sizeof *tokens);
        (*count)--;
    }
}

vkl_status vkl_tokenizer_encode(vkl_tokenizer *t, const char *text, bool bos, uint32_t **tokens)
{
    size_t first = 0;
    if (bos) {
        arrput(*tokens, t->bos);
        first = 1;
    }
    if (text[0]) {
        int64_t space = lookup(t, " ");
        if (space >= 0) arrput(*tokens, (uint32_t)space);
    }
    encode_characters(t, text, tokens);
    char *buffer = malloc(2 * (size_t)t->max_piece_length + 2);
    if (!buffer) return VKL_ERR_OUT_OF_MEMORY;
    ptrdiff_t count = arrlen(*tokens);
    merge_pairs(t, *tokens, &count, buffer, first);
    arrsetlen(*tokens, count);
    free(buffer);
    return VKL_OK;
}

const char *vkl_tokenizer_decode(const vkl_tokenizer *t, uint32_t prev, uint32_t token)
{
    if (token >= t->vocab_size) return "";
    const char *piece = t->pieces[token];
    if (prev == t->bos && piece[0] == ' ') piece++;
    unsigned hi, lo;
    if (strlen(piece) == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>' &&
        isxdigit((unsigned char)piece[3]) && isxdigit((unsigned char)piece[4])) {
        hi = (unsigned)(isdigit((unsigned char)piece[3]) ? piece[3] - '0' : toupper((unsigned char)piece[3]) - 'A' + 10);
        lo = (unsigned)(isdigit((unsigned char)piece[4]) ? piece[4] - '0' : toupper((unsigned char)piece[4]) - 'A' + 10);
        return t->byte_pieces[hi * 16 + lo];
    }
    return piece;
}

bool vkl_piece_printable(const char *piece)
{
    if (!piece[0]) return false;
    if (piece[1]) return true;
    unsigned char b = (unsigned char)piece[0];
    return isprint(b) || isspace(b);
}

// Copies a GGUF piece with U+2581 (SentencePiece's space) turned into ' '.
static char *piece_from_gguf(vkl_gguf_string s)
{
    char *out = malloc(s.length + 1), *o = out;
    if (!out) return NULL;
    for (uint64_t i = 0; i < s.length; i++) {
        if (i + 2 < s.length && (uint8_t)s.text[i] == 0xE2 && (uint8_t)s.text[i + 1] == 0x96 && (uint8_t)s.text[i + 2] == 0x81) {
            *o++ = ' ';
            i += 2;
        } else {
            *o++ = s.text[i];
        }
    }
    *o = 0;
    return out;
}

static const vkl_gguf_kv *array_of(const vkl_gguf *g, const char *key, uint32_t type, uint64_t count)
{
    const vkl_gguf_kv *kv = vkl_gguf_find(g, key);
    if (kv && kv->type == GGUF_ARRAY && kv->array_type == type && kv->array_count == count) return kv;
    vkl_log_error("%s: %s is missing or not an array of %llu elements of type %u", g->path, key,
                  (unsigned long long)count, type);
    return NULL;
}

vkl_status vkl_tokenizer_load_gguf(const vkl_gguf *g, uint32_t vocab_size, vkl_tokenizer *t)
{
    memset(t, 0, sizeof *t);
    const vkl_gguf_kv *model = vkl_gguf_find(g, "tokenizer.ggml.model"), *tokens = vkl_gguf_find(g, "tokenizer.ggml.tokens");
    if (!model || model->type != GGUF_STRING || !vkl_gguf_string_is(model->string, "llama")) {
        vkl_log_error("%s: tokenizer.ggml.model is missing or not \"llama\" (SentencePiece BPE)", g->path);
        return VKL_ERR_UNSUPPORTED;
    }
    if (!tokens || tokens->type != GGUF_ARRAY || tokens->array_type != GGUF_STRING || tokens->array_count == 0 ||
        tokens->array_count > (1u << 22) || (vocab_size && tokens->array_count != vocab_size)) {
        vkl_log_error("%s: tokenizer.ggml.tokens must be %u strings", g->path, vocab_size);
        return VKL_ERR_INVALID_ARG;
    }
    t->vocab_size = (uint32_t)tokens->array_count;
    const vkl_gguf_kv *scores = array_of(g, "tokenizer.ggml.scores", GGUF_FLOAT32, t->vocab_size);
    if (!scores) return VKL_ERR_INVALID_ARG;
    t->bos = 1;
    t->eos = 2;
    vkl_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &t->bos, false);
    vkl_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &t->eos, false);
    t->pieces = calloc(t->vocab_size, sizeof *t->pieces);
    t->scores = malloc(t->vocab_size * sizeof *t->scores);
    if (!t->pieces || !t->scores) {
        vkl_tokenizer_free(t);
        return VKL_ERR_OUT_OF_MEMORY;
    }
    memcpy(t->scores, scores->array_data, t->vocab_size * sizeof *t->scores);
    const uint8_t *cursor = tokens->array_data;
    for (uint32_t i = 0; i < t->vocab_size; i++) {
        vkl_gguf_string s = vkl_gguf_next_string(&cursor);
        if (!(t->pieces[i] = piece_from_gguf(s))) {
            vkl_tokenizer_free(t);
            return VKL_ERR_OUT_OF_MEMORY;
        }
        size_t len = strlen(t->pieces[i]);
        if (len > t->max_piece_length) t->max_piece_length = (uint32_t)len;
    }
    if (t->bos >= t->vocab_size || t->eos >= t->vocab_size) {
        vkl_log_error("%s: bos_token_id %u or eos_token_id %u outside the vocabulary of %u", g->path, t->bos, t->eos,
                      t->vocab_size);
        vkl_tokenizer_free(t);
        return VKL_ERR_INVALID_ARG;
    }
    if (t->max_piece_length == 0) t->max_piece_length = 1;
    build_tables(t);
    return VKL_OK;
}
