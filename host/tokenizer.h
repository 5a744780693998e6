// SentencePiece-style BPE tokenizer as llama2.c runs it: pieces with scores, byte fallback
// (<0xXX> pieces, ids 3..258), greedy merging of the best-scoring adjacent pair.
#ifndef VKLLM_TOKENIZER_H
#define VKLLM_TOKENIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/status.h"

typedef struct vkl_tokenizer {
    uint32_t vocab_size;
    char **pieces;                           // (vocab_size) NUL-terminated, owned
    float *scores;                           // (vocab_size)
    uint32_t max_piece_length;
    uint32_t bos, eos;
    struct { char *key; uint32_t value; } *lookup;  // stb_ds map piece -> id
    char byte_pieces[256][2];                // decoded <0xXX> pieces
} vkl_tokenizer;

// Loads llama2.c's tokenizer.bin: int32 max_token_length, then per token f32 score, int32
// length, bytes. `vocab_size` comes from the model (0: as many tokens as the file holds).
// Errors name the file, the token and the value.
vkl_status vkl_tokenizer_load_llama2c(const char *path, uint32_t vocab_size, vkl_tokenizer *t);
// The same from bytes in memory; `path` only names them in errors.
vkl_status vkl_tokenizer_parse_llama2c(const char *path, const uint8_t *data, uint64_t size, uint32_t vocab_size,
                                       vkl_tokenizer *t);
// Loads tokenizer.ggml.* of a parsed GGUF file (model "llama": SentencePiece BPE), turning
// SentencePiece's U+2581 back into spaces. `vocab_size` 0 accepts the file's token count.
struct vkl_gguf;
vkl_status vkl_tokenizer_load_gguf(const struct vkl_gguf *g, uint32_t vocab_size, vkl_tokenizer *t);
void vkl_tokenizer_free(vkl_tokenizer *t);

// Encodes `text` (BOS first if `bos`, a leading space piece for non-empty text, as llama2.c
// does) into the stb_ds array *tokens.
vkl_status vkl_tokenizer_encode(vkl_tokenizer *t, const char *text, bool bos, uint32_t **tokens);
// The text of `token` after `prev` as llama2.c prints it: the leading space dropped after BOS,
// byte pieces as their byte. Never NULL.
const char *vkl_tokenizer_decode(const vkl_tokenizer *t, uint32_t prev, uint32_t token);
// True when llama2.c's safe_printf would print the piece (not a lone unprintable byte).
bool vkl_piece_printable(const char *piece);

#endif
