"""Hostile GGUF files each give a clear error naming the file (and the field or tensor) and a
non-zero exit; never a crash or an out-of-bounds read (CI also runs this under ASan). Each is
the real stories260K.gguf with one field broken, or truncated inside every section.
Exits 77 (skipped) when the shared data is absent."""
import os, struct, subprocess, sys, tempfile

vkllm, models = sys.argv[1], sys.argv[2]
source = os.path.join(models, "stories260K.gguf")
if not os.path.isfile(source):
    print(f"SKIP: {source} not found (the shared model data sits beside the checkout)")
    sys.exit(77)
data = open(source, "rb").read()
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def walk(d):
    """Offsets of the fields we break: each key/value and each tensor info."""
    n_tensors, n_kv = struct.unpack_from("<QQ", d, 8)
    pos, kvs, tensors = 24, {}, []
    def string(p):
        n = struct.unpack_from("<Q", d, p)[0]
        return d[p + 8:p + 8 + n].decode(), p + 8 + n
    for _ in range(n_kv):
        start = pos
        key, pos = string(pos)
        vtype = struct.unpack_from("<I", d, pos)[0]
        value_at = pos + 4
        pos += 4
        if vtype == 8:
            _, pos = string(pos)
        elif vtype == 9:
            atype, count = struct.unpack_from("<IQ", d, pos)
            pos += 12
            for _ in range(count):
                pos = string(pos)[1] if atype == 8 else pos + SIZES[atype]
        else:
            pos += SIZES[vtype]
        kvs[key] = (start, value_at)
    for _ in range(n_tensors):
        start = pos
        name, pos = string(pos)
        n_dims = struct.unpack_from("<I", d, pos)[0]
        dims_at, type_at = pos + 4, pos + 4 + 8 * n_dims
        tensors.append(dict(name=name, start=start, n_dims_at=pos, dims_at=dims_at, type_at=type_at,
                            offset_at=type_at + 4))
        pos = type_at + 12
    return kvs, tensors, pos


kvs, tensors, infos_end = walk(data)
first = tensors[0]
attn_q = next(t for t in tensors if t["name"] == "blk.0.attn_q.weight")


def patch(at, fmt, value):
    d = bytearray(data)
    struct.pack_into(fmt, d, at, value)
    return bytes(d)


def rename(old, new):
    assert len(old) == len(new)
    return data.replace(old.encode(), new.encode(), 1)


def string(s):
    return struct.pack("<Q", len(s)) + s.encode()


def inserted(kv_entries=b"", n_kv=0, tensor_infos=b"", n_tensors=0):
    """The file with key/values added after its own and tensor infos after its own, padded by an
    unused key to a multiple of the data alignment (32), so every tensor's data stays aligned."""
    key = "vkllm.test_padding"
    fixed = len(kv_entries) + len(tensor_infos) + 8 + len(key) + 4 + 8
    pad = kv_entries + string(key) + struct.pack("<I", 8) + string("x" * ((-fixed) % 32))
    old_t, old_kv = struct.unpack_from("<QQ", data, 8)
    head = data[:8] + struct.pack("<QQ", old_t + n_tensors, old_kv + n_kv + 1)
    kv_end = tensors[0]["start"]
    return head + data[24:kv_end] + pad + data[kv_end:infos_end] + tensor_infos + data[infos_end:]


cases = [
    ("RoPE scaling", inserted(string("llama.rope.scaling.type") + struct.pack("<I", 8) + string("yarn"), 1),
     "llama.rope.scaling.type is yarn: vkllm applies linear RoPE scaling, and YaRN for deepseek2, so far"),
    ("RoPE frequency factors", inserted(tensor_infos=string("rope_freqs.weight") + struct.pack("<IQIQ", 1, 32, 0, 0),
                                        n_tensors=1),
     "tensor rope_freqs.weight holds RoPE frequency factors"),
    ("wrong magic", b"GGUX" + data[4:], "neither GGUF (magic 47 47 55 58) nor a valid llama2.c checkpoint"),
    ("version 1", patch(4, "<I", 1), "unsupported GGUF version"),
    ("version 4", patch(4, "<I", 4), "unsupported GGUF version"),
    ("huge tensor count", patch(8, "<Q", 1 << 40), "tensor count too large"),
    ("huge metadata count", patch(16, "<Q", 1 << 40), "metadata count too large"),
    ("huge key length", patch(24, "<Q", 1 << 62), "string length too large"),
    ("unknown value type", patch(kvs["general.architecture"][1] - 4, "<I", 99), "unknown metadata value type"),
    ("architecture gemma", data[:kvs["general.architecture"][1] + 8] + b"gemma" + data[kvs["general.architecture"][1] + 13:],
     "general.architecture is gemma; vkllm runs llama, gpt2, qwen2, qwen3, phi3"),
    ("missing block_count", rename("llama.block_count", "llama.block_coun_"), "llama.block_count is missing"),
    ("zero embedding length", patch(kvs["llama.embedding_length"][1], "<I", 0), "inconsistent hyperparameters"),
    # general.alignment = 0 (a u32 key renamed, same length): once a division by zero, found by libFuzzer
    ("zero alignment", patch(kvs["llama.block_count"][1], "<I", 0).replace(b"llama.block_count", b"general.alignment", 1),
     "general.alignment is not a power of two"),
    ("n_dims 7", patch(first["n_dims_at"], "<I", 7), "n_dims out of range"),
    ("huge dimension", patch(first["dims_at"], "<Q", 1 << 40), "run past the end of the file"),
    ("zero dimension", patch(first["dims_at"], "<Q", 0), "bad dimension"),
    ("unknown tensor type", patch(first["type_at"], "<I", 99), "ggml type 99"),
    ("offset past the end", patch(first["offset_at"], "<Q", 1 << 40), "run past the end of the file"),
    ("misaligned offset", patch(first["offset_at"], "<Q", 4), "is not aligned"),
    ("missing tensor", rename("blk.0.attn_q.weight", "blk.0.attn_x.weight"), "tensor blk.0.attn_q.weight is missing"),
    ("wrongly shaped tensor", patch(attn_q["dims_at"] + 8, "<Q", 32), "tensor blk.0.attn_q.weight has 2048 elements; "
     "the model's shape needs 4096"),
]
# Truncated inside every section: header, metadata, tensor infos, tensor data.
for name, at in [("header", 20), ("metadata", kvs["llama.block_count"][0] + 5), ("tensor infos", attn_q["start"] + 9),
                 ("tensor data", len(data) - 1000)]:
    cases.append((f"truncated in {name}", data[:at], "file ends inside" if name != "tensor data" else "run past the end"))

# Quantized tensors (the real TinyStories-656K-Q8_0.gguf, when present): a type the reader does
# not know, rows that are not whole blocks of the type, and data cut short inside a quantized
# tensor, each naming the file, the tensor and the type.
q8_source = os.path.join(models, "TinyStories-656K-Q8_0.gguf")
if os.path.isfile(q8_source):
    q8 = open(q8_source, "rb").read()
    _, q8_tensors, _ = walk(q8)
    q8_attn_q = next(t for t in q8_tensors if t["name"] == "blk.0.attn_q.weight")
    def q8_patch(at, fmt, value):
        d = bytearray(q8)
        struct.pack_into(fmt, d, at, value)
        return bytes(d)
    last = max(q8_tensors, key=lambda t: struct.unpack_from("<Q", q8, t["offset_at"])[0])
    cases += [
        ("Q8_0 tensor of unknown type 31", q8_patch(q8_attn_q["type_at"], "<I", 31),
         "tensor blk.0.attn_q.weight has ggml type 31"),
        # rows of 128 values are not whole Q4_K blocks (256)
        ("Q8_0 tensor retyped Q4_K", q8_patch(q8_attn_q["type_at"], "<I", 12),
         "tensor blk.0.attn_q.weight: rows of 128 values are not whole q4_k blocks of 256"),
        (f"quantized file cut short inside {last['name']}", q8[:len(q8) - 64],
         f"tensor {last['name']} (q8_0): "),
    ]
else:
    print(f"note: {q8_source} not found; the quantized cases are skipped")

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for name, blob, message in cases:
        path = os.path.join(tmp, "model.gguf")
        open(path, "wb").write(blob)
        for route in (["--cpu"], []):  # the CPU path and the GPU scheduler check the same things
            r = subprocess.run([vkllm, "run", "-m", path, "-n", "4"] + route, capture_output=True, text=True)
            ok = r.returncode in (1, 2) and message in r.stderr and path in r.stderr
            print(f"{'ok  ' if ok else 'FAIL'} {name} ({'CPU' if route else 'GPU'}): exit {r.returncode}: "
                  f"{r.stderr.strip()[:200]}")
            failures += not ok
print(f"{2 * len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
