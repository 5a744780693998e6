"""Prompts are encoded as llama.cpp encodes them: its test vectors (inputs separated by
`\\n__ggml_vocab_test__\\n` in X.gguf.inp, a line of ids each in X.gguf.out, no BOS, special
tokens not parsed) for every vocabulary in ../shared/models and ../shared/models/vocab, through
`vkllm tokenize --null` (one process a vocabulary):
- SentencePiece: ggml-vocab-llama-spm.gguf, and llama2.c's tokenizer.bin (the same vocabulary);
  phi-3;
- byte-level BPE: gpt-2, deepseek-llm, deepseek-coder, starcoder, falcon, mpt, refact; and
  llama-bpe (Llama 3) and qwen2, whose GGUFs are built here from their published JSON
  vocabularies with the `gguf` package (tests/bpe_vocab_gguf.py; skipped, saying so, without it).
For the byte-level BPE vocabularies the ids must also decode back to the input exactly.
Exits 77 (skipped) when the shared data is absent.

usage: tokenizer_vectors.py VKLLM SHARED_MODELS WORK_DIR"""
import os, subprocess, sys

vkllm, models, work = sys.argv[1:4]
SEPARATOR = "\n__ggml_vocab_test__\n"
vocab_dir = os.path.join(models, "vocab")
spm = os.path.join(models, "ggml-vocab-llama-spm.gguf")
if not os.path.isfile(spm):
    print(f"SKIP: {spm} not found (the shared model data sits beside the checkout)")
    sys.exit(77)


def run(tokenizer, texts, *flags):
    data = b"".join(t.encode() + b"\0" for t in texts)
    r = subprocess.run([vkllm, "tokenize", "-z", tokenizer, "--null", *flags], input=data, capture_output=True)
    if r.returncode != 0:
        print(f"FAIL {tokenizer}: exit {r.returncode}: {r.stderr.decode()[-2000:]}")
        return None
    lines = r.stdout.split(b"\n")[:-1]
    assert len(lines) == len(texts), (tokenizer, len(lines), len(texts))
    return lines


def check(name, tokenizer, vectors, byte_level):
    inputs = open(vectors + ".inp", encoding="utf-8").read().split(SEPARATOR)
    outputs = open(vectors + ".out", encoding="utf-8").read().split("\n")[: len(inputs)]
    got = run(tokenizer, inputs)
    if got is None:
        return len(inputs)
    failures = 0
    for text, want, line in zip(inputs, outputs, got):
        if line.decode().split() != want.split():
            failures += 1
            print(f"FAIL {name}: {text!r}\n  want {want.split()}\n  got  {line.decode().split()}")
    if byte_level:  # the text comes back exactly; inputs with a newline are left out (one line each)
        plain = [t for t in inputs if "\n" not in t]
        for text, line in zip(plain, run(tokenizer, plain, "--decode") or []):
            if line.decode("utf-8", "replace") != text:
                failures += 1
                print(f"FAIL {name} decode: {text!r} came back as {line!r}")
    print(f"{name}: {len(inputs)} vectors, {failures} failures")
    return failures


failures = check("llama-spm", spm, spm, False)
failures += check("llama2.c tokenizer.bin", os.path.join(models, "tokenizer.bin"), spm, False)
for name, byte_level in [("phi-3", False), ("gpt-2", True), ("deepseek-llm", True), ("deepseek-coder", True),
                         ("starcoder", True), ("falcon", True), ("mpt", True), ("refact", True)]:
    path = os.path.join(vocab_dir, f"ggml-vocab-{name}.gguf")
    failures += check(name, path, path, byte_level)

builder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpe_vocab_gguf.py")
for name, directory in [("llama-bpe", "llama3-bpe"), ("qwen2", "qwen2-hf")]:
    built = os.path.join(work, f"vectors-vocab-{name}.gguf")
    r = subprocess.run([sys.executable, builder, name, os.path.join(vocab_dir, directory), built], capture_output=True)
    if r.returncode != 0:
        print(f"SKIP {name}: its GGUF could not be built from the published vocabulary (needs the gguf package "
              f"from ./setup.sh test's .venv): {r.stderr.decode()[-300:]}")
        continue
    failures += check(name, built, os.path.join(vocab_dir, f"ggml-vocab-{name}.gguf"), True)
print(f"{failures} failures")
sys.exit(1 if failures else 0)
