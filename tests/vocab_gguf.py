"""Small vocabulary-only GGUF v3 files written byte by byte (no gguf package), for the fuzzer's
seeds and the hostile-input tests: `vocabulary(...)` gives the bytes."""
import struct


def string(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def kv_string(key, value):
    return string(key) + struct.pack("<I", 8) + string(value)


def kv_u32(key, value):
    return string(key) + struct.pack("<II", 4, value)


def kv_strings(key, values):
    return string(key) + struct.pack("<IIQ", 9, 8, len(values)) + b"".join(map(string, values))


def kv_i32s(key, values):
    return string(key) + struct.pack("<IIQ", 9, 5, len(values)) + struct.pack(f"<{len(values)}i", *values)


# A byte-level BPE vocabulary: "Ġ" is the space byte's character, "Ċ" the newline's.
BPE_TOKENS = ["a", "b", "Ġ", "Ċ", "1", "Ġa", "ab", "Ġab", "<u>", "<|endoftext|>"]
BPE_TYPES = [1] * 8 + [4, 3]  # normal, then a user-defined and a control token
BPE_MERGES = ["Ġ a", "a b", "Ġa b"]


def vocabulary(model="gpt2", pre="gpt-2", tokens=None, types=None, merges=None, extra=()):
    """The file's bytes; `pre` None leaves tokenizer.ggml.pre out, `extra` adds raw key/values."""
    tokens = BPE_TOKENS if tokens is None else tokens
    types = BPE_TYPES if types is None else types
    merges = BPE_MERGES if merges is None else merges
    kvs = [kv_string("general.architecture", "llama"), kv_string("tokenizer.ggml.model", model),
           kv_strings("tokenizer.ggml.tokens", tokens), kv_i32s("tokenizer.ggml.token_type", types),
           kv_strings("tokenizer.ggml.merges", merges), kv_u32("tokenizer.ggml.bos_token_id", len(tokens) - 1)]
    if pre is not None:
        kvs.append(kv_string("tokenizer.ggml.pre", pre))
    kvs += list(extra)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
