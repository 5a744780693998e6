#!/usr/bin/env python3
"""vkllm's weight formats against gguf-py, llama.cpp's reference reader, through `vkllm quantize`.

1. Seeded random f32 tensors (rows of awkward values: zeros, one outlier, constants, negative
   only, tiny, heavy tails) quantized by vkllm to every format: gguf-py's dequantization of the
   bytes equals vkllm's (`vkllm quantize --type f32` of the quantized file), bit for bit; where
   gguf-py quantizes too (q8_0, q4_0, q4_1, q5_0, q5_1: ggml's reference algorithms, which
   vkllm's follow operation for operation) the bytes are equal. The K-quants' scale searches
   are vkllm's own, so only their dequantization is compared. Rows that are not whole blocks
   fall back as llama.cpp does. Converting a quantized file is converting its dequantization;
   converting to the format a tensor is in copies it.
2. The mixes (q4_k_s, q4_k_m, q5_k_m) pick each tensor's format as llama.cpp's
   llama_tensor_get_type does (transcribed here separately), on dense and 8-expert models; and
   `mkmodel --type` writes the bytes that `quantize --type` writes from the f32 model.
3. The real ../shared/models/TinyStories-656K-Q8_0.gguf: every tensor vkllm dequantizes equals
   gguf-py's dequantization; the metadata is copied; its q4_k_m types follow llama.cpp's.
4. Bad input: an unsupported tensor type, NaN, values beyond a format's range: exit 1 with a
   message naming the tensor, and no output file left behind.

usage: formats_gguf.py VKLLM SHARED_MODELS_DIR   (exit 77 without the gguf package; part 3 is
skipped, saying so, without the shared models). VKLLM_TEST_SEED=S repeats a seed.
"""
import os
import subprocess
import sys
import tempfile
import time

try:
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as T
except ImportError:
    print("SKIP: the gguf package is not installed (./setup.sh test installs it in .venv)")
    sys.exit(77)

vkllm, shared = sys.argv[1], sys.argv[2]
FORMATS = ["f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]
GGUF_QUANTIZES = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}
FALLBACK = {"Q2_K": "Q4_0", "Q3_K": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, status=0):
    r = subprocess.run([vkllm, *args], capture_output=True, text=True)
    if r.returncode != status:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: vkllm {' '.join(args)}: exit {r.returncode}, wanted {status}")
    return r.stdout + r.stderr


def tensors(path):
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


def dequantized(t):
    return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)


def fallback(type_name, ne0):
    """llama.cpp's tensor_type_fallback, then F16."""
    if type_name in FALLBACK and ne0 % 256:
        type_name = FALLBACK[type_name]
        if ne0 % 32:
            type_name = "F16"
    if type_name in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0") and ne0 % 32:
        type_name = "F16"
    return type_name


def awkward_rows(rng, rows, cols):
    """Rows of values that scale searches must survive, a kind per row."""
    g = rng.standard_normal((rows, cols)).astype(np.float32)
    kinds = [lambda r: r, lambda r: np.zeros_like(r), lambda r: np.where(np.arange(cols) == 7, 50.0, r),
             lambda r: np.full_like(r, rng.uniform(-3, 3)), lambda r: -np.abs(r), lambda r: 1e-3 * r,
             lambda r: r ** 3, lambda r: np.full_like(r, 1e-6), lambda r: r * 10.0 ** rng.uniform(-3, 0, cols)]
    return np.stack([kinds[i % len(kinds)](g[i]) for i in range(rows)]).astype(np.float32)


def write_gguf(path, arrays, arch="llama"):
    w = gguf.GGUFWriter(path, arch)
    for name, a in arrays.items():
        w.add_tensor(name, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def part1_random(tmp, seed):
    rng = np.random.default_rng(seed)
    arrays = {"blk.0.awkward.weight": awkward_rows(rng, 36, 512),
              "blk.0.normal.weight": rng.standard_normal((64, 1024)).astype(np.float32),
              "blk.0.rows96.weight": awkward_rows(rng, 18, 96),    # not whole 256-blocks: falls back
              "blk.0.rows40.weight": awkward_rows(rng, 9, 40),     # not whole 32-blocks: f16
              "blk.0.attn_norm.weight": rng.standard_normal(256).astype(np.float32)}  # a vector: stays f32
    src = os.path.join(tmp, "random.gguf")
    write_gguf(src, arrays)
    print(f"part 1: random tensors, seed {seed}; RMSE of N(0,1) values per format:")
    for fmt in FORMATS:
        q, deq = os.path.join(tmp, f"{fmt}.gguf"), os.path.join(tmp, f"{fmt}.f32.gguf")
        out = run("quantize", "-i", src, "-o", q, "--type", fmt)
        run("quantize", "-i", q, "-o", deq, "--type", "f32")
        qt, dt = tensors(q), tensors(deq)
        for name, a in arrays.items():
            t, ne0 = qt[name], a.shape[-1]
            want = "F32" if a.ndim == 1 else fallback(fmt.upper(), ne0)
            check(t.tensor_type.name == want, f"{fmt}: {name} is {t.tensor_type.name}, wanted {want}")
            if want != fmt.upper() and a.ndim > 1:
                check(f"fallback: {name}: rows of {ne0} values" in out, f"{fmt}: fallback of {name} not listed")
            ours, theirs = np.asarray(dt[name].data).reshape(-1), dequantized(t)
            check(ours.view(np.uint32).tolist() == theirs.view(np.uint32).tolist(),
                  f"{fmt}: {name}: vkllm's dequantization differs from gguf-py's "
                  f"(max {np.abs(ours - theirs).max()})")
            qtype = T[t.tensor_type.name]
            if t.tensor_type.name.lower() in GGUF_QUANTIZES:
                check(np.array_equal(np.asarray(t.data).reshape(-1), gguf.quants.quantize(a, qtype).reshape(-1)),
                      f"{fmt}: {name}: bytes differ from gguf-py's quantize")
            if t.tensor_type.name == "F16":
                check(np.array_equal(np.asarray(t.data).reshape(-1), a.astype(np.float16).reshape(-1)),
                      f"{fmt}: {name}: f16 differs from numpy's rounding")
        normal = arrays["blk.0.normal.weight"].reshape(-1)
        rmse = np.sqrt(np.mean((np.asarray(dt["blk.0.normal.weight"].data).reshape(-1) - normal) ** 2))
        print(f"  {fmt:5} {rmse:.5f}")
    # A quantized input is its dequantization; a tensor already in the format is copied.
    a = os.path.join(tmp, "q5_1_to_q4_k.gguf")
    b = os.path.join(tmp, "q5_1_f32_to_q4_k.gguf")
    run("quantize", "-i", os.path.join(tmp, "q5_1.gguf"), "-o", a, "--type", "q4_k")
    run("quantize", "-i", os.path.join(tmp, "q5_1.f32.gguf"), "-o", b, "--type", "q4_k")
    ta, tb = tensors(a), tensors(b)
    check(all(np.array_equal(ta[n].data, tb[n].data) for n in ta), "q5_1 -> q4_k differs from q5_1 -> f32 -> q4_k")
    c = os.path.join(tmp, "q4_k_again.gguf")
    run("quantize", "-i", os.path.join(tmp, "q4_k.gguf"), "-o", c, "--type", "q4_k")
    t4, tc = tensors(os.path.join(tmp, "q4_k.gguf")), tensors(c)
    check(all(np.array_equal(t4[n].data, tc[n].data) for n in t4), "q4_k -> q4_k is not a copy")


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def mix_type(mix, name, n_dims, ne0, n_layers, n_experts, tied):
    """llama.cpp's llama_tensor_get_type for Q4_K_S, Q4_K_M, Q5_K_M on llama models, then the fallback."""
    if n_dims < 2 or not name.endswith("weight") or "_norm.weight" in name or "ffn_gate_inp.weight" in name:
        return "F32"
    base = "Q5_K" if mix == "q5_k_m" else "Q4_K"
    layer = int(name.split(".")[1]) if name.startswith("blk.") else -1
    t = base
    if name == "output.weight" or (tied and name == "token_embd.weight"):
        t = "Q8_0" if ne0 % 256 else "Q6_K"
    elif name == "token_embd.weight":
        pass
    elif "attn_v.weight" in name:
        if mix in ("q4_k_m", "q5_k_m") and use_more_bits(layer, n_layers):
            t = "Q6_K"
        elif mix == "q4_k_s" and layer < 4:
            t = "Q5_K"
        if n_experts == 8:
            t = "Q8_0"
    elif "attn_k.weight" in name:
        t = "Q8_0" if n_experts == 8 else t
    elif "attn_output.weight" in name:
        t = "Q5_K" if n_experts == 8 and mix in ("q4_k_s", "q4_k_m") else t
    elif "ffn_down" in name:
        if mix in ("q4_k_m", "q5_k_m") and use_more_bits(layer, n_layers):
            t = "Q6_K"
        elif mix == "q4_k_s" and layer < n_layers // 8:
            t = "Q5_K"
    return fallback(t, ne0)


def check_mix(path, mix, n_layers, n_experts, tied):
    for t in gguf.GGUFReader(path).tensors:
        want = mix_type(mix, t.name, len(t.shape), int(t.shape[0]), n_layers, n_experts, tied)
        check(t.tensor_type.name == want, f"{mix}: {os.path.basename(path)}: {t.name} is {t.tensor_type.name}, "
                                          f"llama.cpp would choose {want}")


def part2_mixes(tmp):
    print("part 2: q4_k_s, q4_k_m, q5_k_m on synthetic models")
    models = [("dense", 16, 0, ["--dim", "256", "--hidden", "512", "--heads", "4", "--kv-heads", "2", "--vocab", "512",
                                "--layers", "16"]),
              ("moe8", 2, 8, ["--dim", "256", "--hidden", "256", "--heads", "4", "--kv-heads", "4", "--vocab", "512",
                              "--layers", "2", "--experts", "8", "--experts-used", "2"])]
    for label, layers, experts, shape in models:
        f32 = os.path.join(tmp, f"{label}.gguf")
        run("mkmodel", "-o", f32, "--seed", "3", *shape)
        for mix in ("q4_k_s", "q4_k_m", "q5_k_m"):
            q = os.path.join(tmp, f"{label}.{mix}.gguf")
            run("quantize", "-i", f32, "-o", q, "--type", mix)
            check_mix(q, mix, layers, experts, False)
            if mix == "q4_k_m":  # mkmodel --type quantizes the same values as it draws them
                direct = os.path.join(tmp, f"{label}.{mix}.direct.gguf")
                run("mkmodel", "-o", direct, "--seed", "3", "--type", mix, *shape)
                tq, td = tensors(q), tensors(direct)
                check(all(tq[n].tensor_type == td[n].tensor_type and np.array_equal(tq[n].data, td[n].data)
                          for n in tq), f"{label}: mkmodel --type {mix} differs from mkmodel + quantize")


def part3_tinystories(tmp):
    src = os.path.join(shared, "TinyStories-656K-Q8_0.gguf")
    if not os.path.exists(src):
        print(f"SKIP part 3: {src} is absent (see ../shared/models/README.md)")
        return
    print("part 3:", src)
    f32 = os.path.join(tmp, "ts.f32.gguf")
    run("quantize", "-i", src, "-o", f32, "--type", "f32")
    ri, ro = gguf.GGUFReader(src), gguf.GGUFReader(f32)
    ours = {t.name: t for t in ro.tensors}
    for t in ri.tensors:
        o = ours[t.name]
        check(o.tensor_type == T.F32 and list(o.shape) == list(t.shape), f"tinystories: {t.name}: type or shape")
        a, b = np.asarray(o.data).reshape(-1), dequantized(t)
        check(a.view(np.uint32).tolist() == b.view(np.uint32).tolist(),
              f"tinystories: {t.name}: dequantization differs")
    for key, field in ri.fields.items():
        if key.startswith("GGUF.") or key in ("general.file_type", "general.quantization_version"):
            continue
        check(key in ro.fields and ro.fields[key].contents() == field.contents(), f"tinystories: metadata {key}")
    check(ro.fields["general.file_type"].contents() == 0, "tinystories: general.file_type of f32")
    q = os.path.join(tmp, "ts.q4_k_m.gguf")
    run("quantize", "-i", src, "-o", q, "--type", "q4_k_m")
    layers = int(ri.fields["llama.block_count"].contents())
    check_mix(q, "q4_k_m", layers, 0, "output.weight" not in ours)
    check(gguf.GGUFReader(q).fields["general.file_type"].contents() == 15, "tinystories: file_type of q4_k_m")


def part4_bad_input(tmp):
    print("part 4: bad input")
    out = os.path.join(tmp, "bad.out.gguf")
    cases = [("nan", {"blk.0.x.weight": np.full((2, 32), np.nan, np.float32)}, "q4_0",
              "blk.0.x.weight: value 0 is NaN"),
             ("huge", {"blk.0.x.weight": np.full((2, 32), 1e30, np.float32)}, "q4_0", "out of q4_0's range")]
    for label, arrays, fmt, message in cases:
        src = os.path.join(tmp, f"bad.{label}.gguf")
        write_gguf(src, arrays)
        text = run("quantize", "-i", src, "-o", out, "--type", fmt, status=1)
        check(message in text, f"bad input {label}: no '{message}' in: {text}")
        check(not os.path.exists(out) and not os.path.exists(out + ".part"), f"bad input {label}: output left behind")
    src = os.path.join(tmp, "bad.type.gguf")
    w = gguf.GGUFWriter(src, "llama")
    w.add_tensor("blk.0.x.weight", np.zeros((2, 18), np.uint8), raw_dtype=T.IQ4_NL)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    text = run("quantize", "-i", src, "-o", out, "--type", "q8_0", status=1)
    check("tensor blk.0.x.weight has ggml type 20" in text, f"unsupported type: {text}")


seed = int(os.environ.get("VKLLM_TEST_SEED", time.time_ns() % 2**32))
with tempfile.TemporaryDirectory() as tmp:
    part1_random(tmp, seed)
    part2_mixes(tmp)
    part3_tinystories(tmp)
    part4_bad_input(tmp)
print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
