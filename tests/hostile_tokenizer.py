"""Bad vocabularies and bad text each give a clear error that names what is wrong (the file and
the key, the merge, the byte) and a non-zero exit; never a crash (CI also runs this under ASan).
Each vocabulary is a small valid byte-level BPE one (tests/vocab_gguf.py) with one thing broken.
A long prompt is encoded without a hang (SentencePiece from ../shared, when there).

usage: hostile_tokenizer.py VKLLM [SHARED_MODELS]"""
import os, subprocess, sys, tempfile

from vocab_gguf import BPE_MERGES, BPE_TOKENS, BPE_TYPES, kv_string, vocabulary

vkllm = sys.argv[1]
work = tempfile.mkdtemp(prefix="vkllm-hostile-tokenizer-")
failures = 0


def expect(name, data, text, want_exit, want_message, *flags):
    global failures
    path = os.path.join(work, name + ".gguf")
    open(path, "wb").write(data)
    r = subprocess.run([vkllm, "tokenize", "-z", path, *flags, "--stdin"], input=text, capture_output=True)
    err = r.stderr.decode(errors="replace")
    ok = r.returncode == want_exit and want_message in err and r.returncode < 128
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {r.returncode} (want {want_exit}), "
          f"{'names it' if want_message in err else 'WANTED ' + repr(want_message)}: {err.strip()[:160]!r}")


good = vocabulary()
# The valid vocabulary works, so the failures below come from what each one breaks.
open(os.path.join(work, "good.gguf"), "wb").write(good)
r = subprocess.run([vkllm, "tokenize", "-z", os.path.join(work, "good.gguf"), "-p", " ab aab"], capture_output=True)
# " ab" is a word of its own, whole after merging; " aab" merges "Ġ a" (rank 0) before "a b" (rank 1).
ok = r.returncode == 0 and r.stdout.split() == [b"7", b"5", b"6"]
failures += not ok
print(f"{'ok  ' if ok else 'FAIL'} the valid vocabulary: ' ab aab' -> {r.stdout.decode().strip()} (want 7 5 6)")

expect("unknown_pre", vocabulary(pre="klingon"), b"ab", 1, 'tokenizer.ggml.pre "klingon" is not a pre-tokenizer vkllm knows (gpt-2,')
expect("unknown_model", vocabulary(model="bert"), b"ab", 1, "tokenizer.ggml.model is missing or not one vkllm knows")
expect("merge_unknown_token", vocabulary(merges=BPE_MERGES + ["a zz"]), b"ab", 1, 'tokenizer.ggml.merges[3] "a zz" is not two tokens')
expect("merge_without_space", vocabulary(merges=["ab"]), b"ab", 1, 'tokenizer.ggml.merges[0] "ab"')
expect("no_merges", vocabulary(merges=[]).replace(b"tokenizer.ggml.merges", b"tokenizer.ggml.merged"), b"ab", 1,
       "tokenizer.ggml.merges is missing")
expect("token_type_out_of_range", vocabulary(types=BPE_TYPES[:-1] + [9]), b"ab", 1, "tokenizer.ggml.token_type[9] = 9")
expect("token_types_short", vocabulary(types=BPE_TYPES[:-1]), b"ab", 1, "tokenizer.ggml.token_type is missing or not an array of 10")
expect("token_with_nul", vocabulary(tokens=BPE_TOKENS[:-1] + ["<|end\0|>"]), b"ab", 1, "token 9 has a NUL byte")
expect("pre_not_a_string", vocabulary(pre=None, extra=[kv_string("tokenizer.ggml.pre", "")]), b"ab", 1,
       'tokenizer.ggml.pre "" is not a pre-tokenizer')
expect("invalid_utf8_text", good, b"ab \xc3\x28 ab", 1, "text is not valid UTF-8: byte 3 (0xc3)")
expect("truncated_utf8_text", good, b"ab \xe2\x82", 1, "text is not valid UTF-8: byte 3 (0xe2)")
expect("nul_in_text", good, b"ab\0ab", 1, "standard input has a NUL byte at 2")
# A long prompt is no hang: 300 KB through SentencePiece (llama2.c's rescanning merge took 19 s
# for 18 KB) and through byte-level BPE, one word of 100,000 letters included. The 120 s limit
# only tells a hang from work; the run takes well under a second.
models = sys.argv[2] if len(sys.argv) > 2 else ""
long_text = (" ".join(["hello", "world", "Once", "upon", "a", "time"] * 8000) + " " + "ab" * 50000).encode()
for name, vocab in (("spm", os.path.join(models, "ggml-vocab-llama-spm.gguf")), ("bpe", os.path.join(work, "good.gguf"))):
    if not os.path.isfile(vocab):
        print(f"SKIP long text through {name}: {vocab} not found")
        continue
    try:
        r = subprocess.run([vkllm, "tokenize", "-z", vocab, "--stdin"], input=long_text, capture_output=True, timeout=120)
        ok = r.returncode == 0 and len(r.stdout.split()) > 1000
        detail = f"exit {r.returncode}, {len(r.stdout.split())} ids"
    except subprocess.TimeoutExpired:
        ok, detail = False, "no answer in 120 s"
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} long text ({len(long_text)} bytes) through {name}: {detail}")
print(f"{failures} failures")
sys.exit(1 if failures else 0)
