"""Byte-level BPE against Hugging Face's `tokenizers` (its own regex engine and BPE), on seeded
random texts: letters of several scripts, digits, punctuation, contractions, runs of spaces,
tabs and newlines, emoji. Each vocabulary's reference is its model's published pre-tokenizer,
written here as that model's tokenizer.json has it (not vkllm's table): GPT-2's ByteLevel regex;
Llama 3's and Qwen2's Split patterns with (?i:...); StarCoder's Digits + ByteLevel. The
vocabularies are ../shared/models/vocab's (gpt-2, starcoder) and the llama-bpe and qwen2 GGUFs
built from their published JSON files (bpe_vocab_gguf.py). Skips (77) without the shared data or the test-only packages
(`gguf`, `tokenizers`, from ./setup.sh test's .venv).

usage: tokenizer_hf.py VKLLM SHARED_MODELS WORK_DIR [TEXTS]"""
import os, random, subprocess, sys

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread: the texts are few, and CI has two cores
try:
    import gguf
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
except ImportError as e:
    print(f"SKIP: {e} (./setup.sh test installs the test-only Python packages into .venv)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_vocab_gguf  # noqa: E402

vkllm, shared, work = sys.argv[1:4]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 300
vocab_dir = os.path.join(shared, "vocab")
if not os.path.isdir(vocab_dir):
    print(f"SKIP: {vocab_dir} not found (the shared model data sits beside the checkout)")
    sys.exit(77)

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
PUBLISHED = {  # name: (pre-tokenizer, BPE ignore_merges)
    "gpt-2": (pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), False),
    "starcoder": (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                           pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]), False),
    "llama-bpe": (pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3), "isolated"),
                                           pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), True),
    "qwen2": (pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), "isolated"),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), False),
}


def reference(path, name):
    fields = gguf.GGUFReader(path).fields
    strings = lambda key: [bytes(fields[key].parts[i]).decode() for i in fields[key].data]
    vocab = {t: i for i, t in reversed(list(enumerate(strings("tokenizer.ggml.tokens"))))}  # first id wins
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    pre, ignore_merges = PUBLISHED[name]
    t = Tokenizer(models.BPE(vocab, merges, ignore_merges=ignore_merges))
    t.pre_tokenizer = pre
    return t


PIECES = ["Hello", " world", "The", " quick", "DON'T", "'s", "'Re", "don't", " I'm", "x", "  ", "   ", "\t", "\n",
          "\r\n", "\n\n\n", " \n ", "1", "42", "12345", "3.14", "1,000", "½", "²", "٣", ".", ",", "!", "?!", "...", "--",
          "$", "^", "`", "|", "<=>", "->", "()", "[]", "{", "}", "#", "@user", "é", "Führer", "ñandú", "Ωμέγα", "Привет",
          "日本語", "中文", "한국어", "عربى", "עברית", "ไทย", "हिन्दी", "🦙", "🤗👍🏽", "\u200d", "\u00a0", "\u3000", "µ", "ǅ",
          "ﬁ", "Ａｂｃ", "\u0301", "e\u0301", "ŉ", "İ", "ß", "Kelvin\u212a"]


def random_texts(rng, n):
    texts = []
    for _ in range(n):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 10))]
        if rng.random() < 0.3:  # a few arbitrary code points of the Basic Multilingual Plane
            parts.insert(rng.randrange(len(parts) + 1), "".join(chr(rng.choice([rng.randint(0x20, 0x7e),
                         rng.randint(0xa0, 0x2fff), rng.randint(0x3000, 0xd7ff)])) for _ in range(rng.randint(1, 4))))
        texts.append("".join(parts))
    return texts


seed = 20261203
print(f"seed {seed}, {count} texts a vocabulary")
rng = random.Random(seed)
texts = random_texts(rng, count)
failures = 0
for name in PUBLISHED:
    path = os.path.join(vocab_dir, f"ggml-vocab-{name}.gguf")
    if not os.path.isfile(path):  # published as JSON: built into a GGUF here
        path = os.path.join(work, f"hf-vocab-{name}.gguf")
        bpe_vocab_gguf.build(name, os.path.join(vocab_dir, bpe_vocab_gguf.DIRECTORIES[name]), path)
    ref = reference(path, name)
    want = [ref.encode(t).ids for t in texts]
    r = subprocess.run([vkllm, "tokenize", "-z", path, "--null"], input=b"".join(t.encode() + b"\0" for t in texts),
                       capture_output=True)
    got = [[int(x) for x in line.split()] for line in r.stdout.decode().split("\n")[:-1]]
    bad = [(t, w, g) for t, w, g in zip(texts, want, got) if w != g]
    if r.returncode != 0 or len(got) != len(texts):
        bad.append(("(the run)", r.returncode, r.stderr.decode()[-300:]))
    for t, w, g in bad[:3]:
        print(f"FAIL {name}: {t!r}\n  tokenizers {w}\n  vkllm      {g}")
    print(f"{name}: {len(texts)} texts, {len(bad)} differ")
    failures += len(bad)
sys.exit(1 if failures else 0)
