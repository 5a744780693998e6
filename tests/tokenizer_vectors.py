"""Prompts are encoded as llama.cpp encodes them: its test vectors for the Llama SPM vocabulary
(../shared/models/ggml-vocab-llama-spm.gguf.inp/.out, no BOS), through `vkllm tokenize`.
Also llama2.c's own tokenizer.bin (the same vocabulary) must agree. Exits 77 (skipped) when
the shared data is absent."""
import os, subprocess, sys

vkllm, models = sys.argv[1], sys.argv[2]
vocab = os.path.join(models, "ggml-vocab-llama-spm.gguf")
if not os.path.isfile(vocab):
    print(f"SKIP: {vocab} not found (the shared model data sits beside the checkout)")
    sys.exit(77)
inputs = open(vocab + ".inp", encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
outputs = open(vocab + ".out", encoding="utf-8").read().split("\n")
failures = 0
for tokenizer in (vocab, os.path.join(models, "tokenizer.bin")):
    for text, expected in zip(inputs, outputs):
        r = subprocess.run([vkllm, "tokenize", "-z", tokenizer, "--stdin"], input=text.encode(), capture_output=True)
        got = r.stdout.decode().split()
        if r.returncode != 0 or got != expected.split():
            failures += 1
            print(f"FAIL {os.path.basename(tokenizer)}: {text!r}\n  want {expected.split()}\n  got  {got} {r.stderr.decode()}")
    print(f"{os.path.basename(tokenizer)}: {len(inputs)} vectors checked")
print(f"{2 * len(inputs) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
