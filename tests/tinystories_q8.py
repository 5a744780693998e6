"""The real quantized model TinyStories-656K-Q8_0.gguf (llama.cpp's Q8_0, tied classifier, GQA,
RMS eps 1e-6) against an independent forward pass: numpy over the weights as the `gguf` Python
package dequantizes them (gguf.quants), none of vkllm's code. vkllm's GPU path (the default
device; lavapipe in CI, under the validation layer) and its CPU reference path (--cpu) must pick
the same greedy tokens as numpy for 96 steps from BOS, with logits within BOUND of numpy's, and
give the same text as each other with a prompt; `run --validate` passes on both read paths.

BOUND: numpy computes in float64 over the same dequantized weights, so what separates the paths
is f32 rounding over 2 layers of width 128 (a few 1e-6 relative); 1e-3 absolute is far above
that and far below the smallest gap between the top two logits seen here (printed).
Needs ../shared/models and gguf + numpy (.venv from ./setup.sh test); exits 77 (skip) without.
"""
import os, struct, subprocess, sys, tempfile

vkllm, models = sys.argv[1], sys.argv[2]
path = os.path.join(models, "TinyStories-656K-Q8_0.gguf")
if not os.path.isfile(path):
    print(f"SKIP: {path} not found (the shared model data sits beside the checkout)")
    sys.exit(77)
try:
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize
except ImportError as e:
    print(f"SKIP: the gguf Python package is missing ({e}); ./setup.sh test installs it in .venv")
    sys.exit(77)

STEPS, BOUND = 96, 1e-3
reader = GGUFReader(path)


def field(name):
    f = reader.fields[name]
    return f.parts[f.data[0]][0]


weights = {}
for t in reader.tensors:
    shape = tuple(int(n) for n in reversed(t.shape))  # outermost first, as numpy reads rows
    weights[t.name] = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float64).reshape(shape)
dim, layers = int(field("llama.embedding_length")), int(field("llama.block_count"))
heads, kv_heads = int(field("llama.attention.head_count")), int(field("llama.attention.head_count_kv"))
eps, base = float(field("llama.attention.layer_norm_rms_epsilon")), float(field("llama.rope.freq_base"))
bos = int(field("tokenizer.ggml.bos_token_id"))
hd = dim // heads
embd = weights["token_embd.weight"]
output = weights.get("output.weight", embd)  # tied classifier


def rms_norm(x, w):
    return x / np.sqrt(np.mean(x * x) + eps) * w


def rope(v, pos):  # adjacent pairs of each head, as llama.cpp's llama architecture
    v = v.reshape(-1, hd // 2, 2).copy()
    theta = pos * base ** (-np.arange(0, hd, 2) / hd)
    c, s = np.cos(theta), np.sin(theta)
    a, b = v[..., 0].copy(), v[..., 1].copy()
    v[..., 0], v[..., 1] = a * c - b * s, a * s + b * c
    return v.reshape(-1)


def forward(token, pos, cache):
    x = embd[token].copy()
    for l in range(layers):
        w = lambda n: weights[f"blk.{l}.{n}.weight"]
        h = rms_norm(x, w("attn_norm"))
        q, k, v = rope(w("attn_q") @ h, pos), rope(w("attn_k") @ h, pos), w("attn_v") @ h
        cache[l].append((k, v))
        ks = np.stack([kv[0] for kv in cache[l]]).reshape(pos + 1, kv_heads, hd)
        vs = np.stack([kv[1] for kv in cache[l]]).reshape(pos + 1, kv_heads, hd)
        out = np.empty(dim)
        for hh in range(heads):
            g = hh // (heads // kv_heads)
            s = ks[:, g, :] @ q[hh * hd:(hh + 1) * hd] / np.sqrt(hd)
            p = np.exp(s - s.max())
            out[hh * hd:(hh + 1) * hd] = (p / p.sum()) @ vs[:, g, :]
        x = x + w("attn_output") @ out
        h = rms_norm(x, w("ffn_norm"))
        gate = w("ffn_gate") @ h
        x = x + w("ffn_down") @ (gate / (1 + np.exp(-gate)) * (w("ffn_up") @ h))
    return output @ rms_norm(x, weights["output_norm.weight"])


cache, token, expected, gaps = [[] for _ in range(layers)], bos, [], []
for pos in range(STEPS):
    logits = forward(token, pos, cache)
    top = np.sort(logits)[-2:]
    gaps.append(top[1] - top[0])
    expected.append(logits)
    token = int(np.argmax(logits))
print(f"numpy forward pass: {STEPS} greedy steps from BOS; smallest top-2 logit gap {min(gaps):.3g}")

failures = 0
for route in ([], ["--cpu"]):
    name = "CPU reference path" if route else "GPU path"
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.f32")
        r = subprocess.run([vkllm, "run", "-m", path, "-t", "0", "-n", str(STEPS), "--dump-logits", dump] + route,
                           capture_output=True)
        if r.returncode != 0:
            print(f"FAIL {name}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
            failures += 1
            continue
        got = np.frombuffer(open(dump, "rb").read(), dtype=np.float32).reshape(-1, embd.shape[0])
    rows = min(len(got), STEPS)
    err = max(float(np.max(np.abs(got[i] - expected[i]))) for i in range(rows))
    same = all(int(np.argmax(got[i])) == int(np.argmax(expected[i])) for i in range(rows))
    ok = rows == STEPS and same and err <= BOUND
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {rows} positions, greedy tokens {'equal' if same else 'DIFFER'}, "
          f"max logit difference {err:.3g} (bound {BOUND})")

# With a prompt: the GPU runs it as a batch (the quantized GEMMs), the CPU token by token.
texts = []
for route in ([], ["--cpu"]):
    r = subprocess.run([vkllm, "run", "-m", path, "-t", "0", "-n", "48", "-p", "Once upon a time, a little bird"] + route,
                       capture_output=True)
    texts.append(r.stdout if r.returncode == 0 else None)
ok = texts[0] is not None and texts[0] == texts[1]
failures += not ok
print(f"{'ok  ' if ok else 'FAIL'} with a prompt: GPU and CPU texts {'identical' if ok else 'differ'}: "
      f"{(texts[0] or b'').decode(errors='replace')[:80]!r}")

for read_path in ("texel", "storage"):
    env = dict(os.environ, VKLLM_READ_PATH=read_path)
    r = subprocess.run([vkllm, "run", "-m", path, "-t", "0", "-n", "6", "-p", "Once upon a time", "--validate"],
                       capture_output=True, env=env)
    err = r.stderr.decode()
    ok = r.returncode == 0 and "every dispatch within its bound" in err and "q8_0" in err
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} --validate on the {read_path} path: "
          f"{err.split('--validate: ')[1].split(' ')[0] if '--validate: ' in err else err[-300:]} dispatches")
print(f"{4 + 2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
