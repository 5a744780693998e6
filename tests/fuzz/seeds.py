"""Writes seed inputs for one fuzzer into a directory: small valid files of each format (and
near-misses), so the fuzzer starts from deep inside the parsers."""
import os, struct, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vocab_gguf import vocabulary  # noqa: E402

target, vkllm, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)

def tokenizer_file(pieces):
    body = struct.pack("<i", max(len(p) for p in pieces))
    for i, p in enumerate(pieces):
        body += struct.pack("<fi", -float(i), len(p)) + p
    return body

if target == "gguf":
    for i, extra in enumerate([[], ["--experts", "4", "--experts-used", "2"], ["--f16"]]):
        path = os.path.join(out, f"model{i}.gguf")
        subprocess.run([vkllm, "mkmodel", "-o", path, "--dim", "8", "--hidden", "12", "--layers", "1", "--heads", "2",
                        "--kv-heads", "1", "--vocab", "260", "--context", "16"] + extra, check=True)
    # Quantized tensors: 32-value blocks, and K-quants' 256 with a mix (Q6_K beside Q4_K)
    for name, width, kind in (("q8_0", "32", "q8_0"), ("q4_1", "32", "q4_1"), ("q4_k_m", "256", "q4_k_m")):
        subprocess.run([vkllm, "mkmodel", "-o", os.path.join(out, f"model_{name}.gguf"), "--dim", width, "--hidden",
                        width, "--layers", "1", "--heads", "2", "--kv-heads", "1", "--vocab", "260", "--context", "16",
                        "--type", kind], check=True, stdout=subprocess.DEVNULL)
    # DeepSeek-V2: multi-head latent attention (both layouts, the low-rank query), YaRN, experts
    for name, extra in (("deepseek2", ["--arch", "deepseek2"]), ("deepseek2_kv_b", ["--arch", "deepseek2", "--mla-kv-b"]),
                        ("deepseek2_q_lora", ["--preset", "deepseek-v2"])):
        subprocess.run([vkllm, "mkmodel", "-o", os.path.join(out, f"model_{name}.gguf")] + extra +
                       ["--dim", "16", "--hidden", "16", "--layers", "2", "--heads", "2", "--experts", "3",
                        "--experts-used", "2", "--vocab", "260", "--context", "16"], check=True, stdout=subprocess.DEVNULL)
elif target == "llama2c":
    dim, hidden, layers, heads, kv_heads, vocab, seq = 8, 12, 1, 2, 1, 16, 4
    head = dim // heads
    floats = (vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * dim * kv_heads * head + 3 * dim * hidden) + dim
              + seq * head)
    for name, v in (("shared.bin", vocab), ("unshared.bin", -vocab)):
        extra = vocab * dim if v < 0 else 0
        open(os.path.join(out, name), "wb").write(struct.pack("<7i", dim, hidden, layers, heads, kv_heads, v, seq)
                                                  + bytes(4 * (floats + extra)))
else:
    pieces = [b"<unk>", b"<s>", b"</s>"] + [b"<0x%02X>" % b for b in range(256)] + [b" ", b"a", b"b", b" a", b"ab", b" ab"]
    open(os.path.join(out, "vocab.tok"), "wb").write(tokenizer_file(pieces) + b"\xff" + " ab aab é".encode())
    open(os.path.join(out, "tiny.tok"), "wb").write(tokenizer_file([b"x", b"y", b"z", b"xy"]) + b"\xffxyzq\xe2\x82\xac")
    # Byte-level BPE vocabularies (GGUF): the text follows the file after a 0xFF byte.
    for pre, text in (("gpt-2", " ab aab\n 11 <u>é"), ("llama-bpe", "ab<|endoftext|> ab  \n\n"),
                      ("deepseek-llm", "ab 1 \u3000ab")):
        open(os.path.join(out, f"bpe-{pre}.gguf"), "wb").write(vocabulary(pre=pre) + b"\xff" + text.encode())
