// Tokenizers: text to token ids and back.
// - llama2.c's tokenizer.bin: SentencePiece-style BPE as llama2.c's run.c runs it (pieces with
//   scores, byte fallback to ids 3..258, greedy merging of the best-scoring adjacent pair).
// - GGUF "llama" vocabularies: the same merging as llama.cpp runs it (spaces escaped to U+2581,
//   a space prefix, byte fallback through the <0xXX> pieces).
// - GGUF "gpt2" vocabularies: byte-level BPE (GPT-2, Llama 3, Qwen2, DeepSeek, ...): a regex
//   pre-tokenizer (host/pretokenizers.c), bytes mapped to printable characters, merges by rank.
// GGUF vocabularies also split their special tokens out of the text first (user-defined ones
// always, control ones when asked to) and add BOS/EOS as the file says.
#ifndef VKLLM_TOKENIZER_H
#define VKLLM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/status.h"

typedef enum vkl_tokenizer_kind {
    VKL_TOKENIZER_LLAMA2C,  // llama2.c's tokenizer.bin
    VKL_TOKENIZER_SPM,      // GGUF tokenizer.ggml.model "llama"
    VKL_TOKENIZER_BPE,      // GGUF tokenizer.ggml.model "gpt2"
} vkl_tokenizer_kind;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum {
    VKL_TOKEN_NORMAL = 1, VKL_TOKEN_UNKNOWN = 2, VKL_TOKEN_CONTROL = 3,
    VKL_TOKEN_USER_DEFINED = 4, VKL_TOKEN_UNUSED = 5, VKL_TOKEN_BYTE = 6,
};

// Flags of vkl_tokenizer_encode.
enum {
    VKL_ENCODE_ADD_SPECIAL = 1,    // BOS / EOS as the vocabulary asks (llama2.c: BOS)
    VKL_ENCODE_PARSE_SPECIAL = 2,  // control tokens written in the text ("<|im_start|>") become those tokens
};

struct vkl_bpe;

// Whitespace a special token swallows on its left / right when found in text.
enum { STRIP_LEFT = 1, STRIP_RIGHT = 2 };

typedef struct vkl_tokenizer {
    vkl_tokenizer_kind kind;
    uint32_t vocab_size;
    char **pieces;                 // (vocab_size) NUL-terminated, as the file spells them, owned
    char **texts;                  // (vocab_size) what each token prints, owned
    float *scores;                 // (vocab_size) merge priority of the SentencePiece kinds
    uint8_t *types;                // (vocab_size) VKL_TOKEN_*, all NORMAL when the file has none
    uint32_t bos, eos, unk;
    bool add_bos, add_eos;         // what VKL_ENCODE_ADD_SPECIAL adds
    bool add_space_prefix;         // SPM: a space before the text (and after each special token)
    struct { char *key; uint32_t value; } *lookup;  // stb_ds map piece -> id
    uint32_t *specials;            // stb_ds: ids split out of text before encoding, longest first
    uint8_t *strip;                // (vocab_size) STRIP_* of each special token, or NULL for none
    int64_t byte_tokens[256];      // the token of a lone byte (byte fallback), -1 when none
    struct vkl_bpe *bpe;           // merges and pre-tokenizer (BPE only)
} vkl_tokenizer;

// Loads llama2.c's tokenizer.bin: int32 max_token_length, then per token f32 score, int32
// length, bytes. `vocab_size` comes from the model (0: as many tokens as the file holds).
// Errors name the file, the token and the value.
vkl_status vkl_tokenizer_load_llama2c(const char *path, uint32_t vocab_size, vkl_tokenizer *t);
// The same from bytes in memory; `path` only names them in errors.
vkl_status vkl_tokenizer_parse_llama2c(const char *path, const uint8_t *data, uint64_t size, uint32_t vocab_size,
                                       vkl_tokenizer *t);
// Loads tokenizer.ggml.* of a parsed GGUF file: model "llama" (SentencePiece) or "gpt2"
// (byte-level BPE, with tokenizer.ggml.merges and .pre). `vocab_size` 0 accepts the file's count.
struct vkl_gguf;
vkl_status vkl_tokenizer_load_gguf(const struct vkl_gguf *g, uint32_t vocab_size, vkl_tokenizer *t);
void vkl_tokenizer_free(vkl_tokenizer *t);

// Encodes `text` (NUL-terminated; VKL_ENCODE_* `flags`) into the stb_ds array *tokens, appending.
// Text that is not valid UTF-8 is an error that names the byte offset.
vkl_status vkl_tokenizer_encode(vkl_tokenizer *t, const char *text, unsigned flags, uint32_t **tokens);
// The text of `token` after `prev`: for the SentencePiece kinds the leading space is dropped
// after BOS, as llama2.c prints it; control tokens print nothing (llama2.c: their piece). Never NULL.
const char *vkl_tokenizer_decode(const vkl_tokenizer *t, uint32_t prev, uint32_t token);
// True when llama2.c's safe_printf would print the piece (not a lone unprintable byte).
bool vkl_piece_printable(const char *piece);

// Length of the longest prefix of s[0..n) that ends on a UTF-8 character boundary, so that a
// character whose bytes come in several tokens is printed whole once its last byte arrives.
size_t vkl_utf8_complete_prefix(const char *s, size_t n);
// Offset of the first byte of s[0..n) that is not part of valid UTF-8, or n.
size_t vkl_utf8_invalid_at(const char *s, size_t n);

// Byte-level BPE internals (host/tokenizer_bpe.c), for the tokenizer alone.
vkl_status vkl_bpe_load(const struct vkl_gguf *g, vkl_tokenizer *t);
void vkl_bpe_free(struct vkl_bpe *bpe);
vkl_status vkl_bpe_encode(vkl_tokenizer *t, const char *text, size_t length, uint32_t **tokens);
// The bytes a byte-level piece stands for (characters outside the byte map kept as they are).
char *vkl_bpe_piece_bytes(const struct vkl_bpe *bpe, const char *piece);

#endif
