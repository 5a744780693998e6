"""Builds a vocabulary-only GGUF (as llama.cpp's converter writes one) from a byte-level BPE
vocabulary published as JSON + merges, with the `gguf` Python package: tokenizer.ggml.model
"gpt2", its pre-tokenizer name, tokens, token types, merges, and the model's special tokens,
which the JSON files leave out.

usage: bpe_vocab_gguf.py {llama-bpe|qwen2} VOCAB_DIR OUT.gguf"""
import json, os, sys

import gguf

# name: (vocabulary file, merges file, special tokens appended after the vocabulary, BOS, EOS)
VOCABULARIES = {
    # Llama 3: <|begin_of_text|> 128000 and <|end_of_text|> 128001 (the other 254 reserved ids are not needed here).
    "llama-bpe": ("encoder.json", "vocab.bpe", ["<|begin_of_text|>", "<|end_of_text|>"], 128000, 128001),
    # Qwen2: <|endoftext|> 151643, <|im_start|> 151644, <|im_end|> 151645.
    "qwen2": ("vocab.json", "merges.txt", ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], 151643, 151643),
}


# Where each sits in ../shared/models/vocab.
DIRECTORIES = {"llama-bpe": "llama3-bpe", "qwen2": "qwen2-hf"}


def build(name, directory, out):
    vocab_file, merges_file, specials, bos, eos = VOCABULARIES[name]
    with open(os.path.join(directory, vocab_file), encoding="utf-8") as f:
        vocab = json.load(f)
    tokens = [None] * len(vocab)
    for piece, token_id in vocab.items():
        tokens[token_id] = piece
    assert all(t is not None for t in tokens), "vocabulary ids are not 0..n-1"
    types = [gguf.TokenType.NORMAL] * len(tokens)
    tokens += specials
    types += [gguf.TokenType.CONTROL] * len(specials)
    with open(os.path.join(directory, merges_file), encoding="utf-8") as f:
        merges = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#version")]
    w = gguf.GGUFWriter(out, "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(name)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return f"{out}: {len(tokens)} tokens, {len(merges)} merges"


if __name__ == "__main__":
    print(build(*sys.argv[1:4]))
