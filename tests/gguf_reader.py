#!/usr/bin/env python3
"""Models written by `vkllm mkmodel` load in gguf-py, the reference GGUF reader of llama.cpp,
with llama.cpp's names, shapes, types and metadata; and a forward pass computed in numpy from
the weights as gguf-py reads them gives the logits vkllm computes (GPU and CPU paths).

At position 0 attention sees one key, so its output is that token's V, and RoPE is the
identity: the numpy pass is short and shares no code with vkllm. MoE blocks use Mixtral's
routing: softmax over experts, top-k, weights renormalised.

usage: gguf_reader.py VKLLM   (run with a Python that has the `gguf` package; exit 77 if absent)
"""
import os
import subprocess
import sys
import tempfile

try:
    import gguf
    import numpy as np
except ImportError:
    print("SKIP: the gguf package is not installed (./setup.sh test installs it in build/.venv)")
    sys.exit(77)

vkllm = sys.argv[1]


def field(reader, key):
    return reader.fields[key].contents()


def check_metadata(reader, args):
    """Metadata keys and tensor shapes as llama.cpp names and lays them out."""
    assert field(reader, "general.architecture") == "llama"
    dim, hidden, layers, heads, kv_heads, vocab = (args[k] for k in ("dim", "hidden", "layers", "heads", "kv", "vocab"))
    assert field(reader, "llama.embedding_length") == dim
    assert field(reader, "llama.feed_forward_length") == hidden
    assert field(reader, "llama.block_count") == layers
    assert field(reader, "llama.attention.head_count") == heads
    assert field(reader, "llama.attention.head_count_kv") == kv_heads
    assert len(field(reader, "tokenizer.ggml.tokens")) == vocab
    alignment = field(reader, "general.alignment")
    head_dim, experts = dim // heads, args.get("experts", 0)
    shapes = {"token_embd.weight": (vocab, dim), "output_norm.weight": (dim,), "output.weight": (vocab, dim)}
    for l in range(layers):
        b = f"blk.{l}."
        shapes.update({b + "attn_norm.weight": (dim,), b + "attn_q.weight": (dim, dim),
                       b + "attn_k.weight": (kv_heads * head_dim, dim), b + "attn_v.weight": (kv_heads * head_dim, dim),
                       b + "attn_output.weight": (dim, dim), b + "ffn_norm.weight": (dim,)})
        if experts:
            assert field(reader, "llama.expert_count") == experts
            shapes.update({b + "ffn_gate_inp.weight": (experts, dim), b + "ffn_gate_exps.weight": (experts, hidden, dim),
                           b + "ffn_up_exps.weight": (experts, hidden, dim),
                           b + "ffn_down_exps.weight": (experts, dim, hidden)})
        else:
            shapes.update({b + "ffn_gate.weight": (hidden, dim), b + "ffn_up.weight": (hidden, dim),
                           b + "ffn_down.weight": (dim, hidden)})
    tensors = {t.name: t for t in reader.tensors}
    assert set(tensors) == set(shapes), set(tensors) ^ set(shapes)
    for name, shape in shapes.items():
        t = tensors[name]
        assert tuple(t.data.shape) == shape, (name, t.data.shape, shape)
        assert t.data_offset % alignment == 0, (name, t.data_offset)
        norm = name.endswith("norm.weight") or name.endswith("gate_inp.weight")
        want = gguf.GGMLQuantizationType.F32 if norm or not args.get("f16") else gguf.GGMLQuantizationType.F16
        assert t.tensor_type == want, (name, t.tensor_type)
    return {name: np.asarray(t.data, dtype=np.float64) for name, t in tensors.items()}


def rms_norm(x, w, eps=1e-5):
    return x / np.sqrt(np.mean(x * x) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def ffn(w, b, h, args):
    if not args.get("experts"):
        return w[b + "ffn_down.weight"] @ (silu(w[b + "ffn_gate.weight"] @ h) * (w[b + "ffn_up.weight"] @ h))
    logits = w[b + "ffn_gate_inp.weight"] @ h
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    top = sorted(range(len(probs)), key=lambda e: (-probs[e], e))[:args["used"]]
    out = np.zeros_like(h)
    for e in top:
        g, u, d = (w[b + f"ffn_{n}_exps.weight"][e] for n in ("gate", "up", "down"))
        out += probs[e] / sum(probs[j] for j in top) * (d @ (silu(g @ h) * (u @ h)))
    return out


def logits_at_position_0(w, token, args):
    dim, heads, kv_heads = args["dim"], args["heads"], args["kv"]
    head_dim = dim // heads
    x = w["token_embd.weight"][token].copy()
    for l in range(args["layers"]):
        b = f"blk.{l}."
        h = rms_norm(x, w[b + "attn_norm.weight"])
        v = (w[b + "attn_v.weight"] @ h).reshape(kv_heads, head_dim)
        att = np.concatenate([v[q * kv_heads // heads] for q in range(heads)])  # one key: softmax weight 1
        x = x + w[b + "attn_output.weight"] @ att
        x = x + ffn(w, b, rms_norm(x, w[b + "ffn_norm.weight"]), args)
    return w["output.weight"] @ rms_norm(x, w["output_norm.weight"])


def vkllm_logits(path, vocab, extra):
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.f32")
        r = subprocess.run([vkllm, "run", "-m", path, "-t", "0", "-n", "1", "--dump-logits", dump] + extra,
                           capture_output=True)
        assert r.returncode == 0, r.stderr.decode()
        return np.fromfile(dump, dtype=np.float32)[:vocab].astype(np.float64)


MODELS = [
    dict(name="dense f32, GQA", dim=96, hidden=200, layers=3, heads=6, kv=2, vocab=300, seed=5),
    dict(name="dense f16", dim=128, hidden=256, layers=2, heads=4, kv=4, vocab=400, seed=6, f16=True),
    dict(name="MoE f32, 8 experts top-2", dim=64, hidden=96, layers=2, heads=4, kv=2, vocab=300, seed=7,
         experts=8, used=2),
]

with tempfile.TemporaryDirectory() as tmp:
    for args in MODELS:
        path = os.path.join(tmp, "model.gguf")
        cmd = [vkllm, "mkmodel", "-o", path, "--seed", str(args["seed"])] + sum(
            ([f"--{k}", str(args[v])] for k, v in (("dim", "dim"), ("hidden", "hidden"), ("layers", "layers"),
                                                   ("heads", "heads"), ("kv-heads", "kv"), ("vocab", "vocab"))), [])
        if args.get("experts"):
            cmd += ["--experts", str(args["experts"]), "--experts-used", str(args["used"])]
        if args.get("f16"):
            cmd += ["--f16"]
        subprocess.run(cmd, check=True)
        weights = check_metadata(gguf.GGUFReader(path), args)
        bos = field(gguf.GGUFReader(path), "tokenizer.ggml.bos_token_id")
        expected = logits_at_position_0(weights, bos, args)
        # The f32 GPU and CPU passes differ from numpy's double only by rounding: a bound of 1e-4 of the
        # logits' scale is orders above it and orders below a wrong weight layout (errors of order 1).
        scale = np.abs(expected).max()
        for path_args in ([[]] if args.get("f16") else [[], ["--cpu"]]):
            got = vkllm_logits(path, args["vocab"], path_args)
            err = np.abs(got - expected).max() / scale
            where = "CPU" if path_args else "GPU"
            assert err < 1e-4, f"{args['name']}, {where}: logits differ from numpy's by {err:.3g} of their scale"
            print(f"{args['name']}: gguf-py reads it as llama.cpp lays it out; {where} logits match numpy's within "
                  f"{err:.2g} of their scale")
print("gguf-py cross-check passed")
