"""DeepSeek-V2's two GGUF layouts hold the same model: a file as llama.cpp's converter wrote them
before its MLA support (attn_kv_b: per head the nope rows of K's up-projection, then V's rows;
per-head key and value sizes), and the same weights rewritten here, with the `gguf` Python
package, as its converter writes them since (attn_k_b = K's part transposed, attn_v_b = V's
part, one KV head, key_length the latent plus the RoPE key, key_length_mla / value_length_mla
the head sizes). vkllm reads both (deriving attn_k_b from attn_kv_b at load for the first), so
the two must give the same logits on the GPU and on the CPU reference: a check that attn_k_b's
orientation is read as the converter writes it, which no file of vkllm's own making could show.

usage: mla_layouts.py VKLLM WORK_DIR"""
import os, subprocess, sys

try:
    import numpy as np
    import gguf
except ImportError:
    print("SKIP: the gguf Python package is not installed (./setup.sh test puts it in .venv)")
    sys.exit(77)

vkllm, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
failures = 0


def report(ok, what):
    global failures
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}")


def contents(field):
    return field.contents()


def rewrite(old_path, new_path):
    """The old-layout file rewritten in the new layout: every key and tensor as it is but these."""
    r = gguf.GGUFReader(old_path)
    arch = contents(r.fields["general.architecture"])
    get = lambda k: int(contents(r.fields[f"{arch}.{k}"]))
    H, lat, rope = get("attention.head_count"), get("attention.kv_lora_rank"), get("rope.dimension_count")
    k_len, v_len = get("attention.key_length"), get("attention.value_length")
    nope = k_len - rope
    w = gguf.GGUFWriter(new_path, arch)
    replaced = {f"{arch}.attention.head_count_kv": 1, f"{arch}.attention.key_length": lat + rope,
                f"{arch}.attention.value_length": lat}
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        value = replaced.get(key, contents(field))
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, vtype, sub_type=sub)
    w.add_uint32(f"{arch}.attention.key_length_mla", k_len)
    w.add_uint32(f"{arch}.attention.value_length_mla", v_len)
    for t in r.tensors:
        data = np.array(t.data)
        if t.name.endswith("attn_kv_b.weight"):  # (H (nope + v), lat) as rows
            kv = data.reshape(H, nope + v_len, lat)
            layer = t.name[: -len("attn_kv_b.weight")]
            w.add_tensor(layer + "attn_k_b.weight", np.ascontiguousarray(kv[:, :nope, :].transpose(0, 2, 1)))
            w.add_tensor(layer + "attn_v_b.weight", np.ascontiguousarray(kv[:, nope:, :]))
        else:
            w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits(model, *extra):
    out = os.path.join(work, os.path.basename(model) + ("-cpu" if extra else "") + ".f32")
    r = subprocess.run([vkllm, "run", "-m", model, "-t", "0", "--ignore-eos", "-n", "6", "-p", "Once upon a time",
                        "--dump-logits", out, *extra], capture_output=True)
    if r.returncode != 0:
        report(False, f"run {model} {extra}: {r.stderr.decode()[-400:]}")
        return None
    return r.stdout, np.fromfile(out, dtype=np.float32)


for name, preset in (("lite", "deepseek-v2-lite"), ("low-rank query", "deepseek-v2")):
    old = os.path.join(work, f"{preset}-kv_b.gguf")
    new = os.path.join(work, f"{preset}-k_b.gguf")
    r = subprocess.run([vkllm, "mkmodel", "-o", old, "--preset", preset, "--dim", "64", "--hidden", "96", "--layers",
                        "3", "--heads", "4", "--experts", "4", "--experts-used", "2", "--vocab", "300", "--context", "64",
                        "--seed", "11", "--mla-kv-b"], capture_output=True)
    if r.returncode != 0:
        report(False, f"mkmodel {preset} --mla-kv-b: {r.stderr.decode()[-300:]}")
        continue
    rewrite(old, new)
    for extra in ((), ("--cpu",)):
        a, b = logits(old, *extra), logits(new, *extra)
        if a is None or b is None:
            continue
        worst = float(np.max(np.abs(a[1] - b[1]))) if a[1].shape == b[1].shape else float("inf")
        scale = float(np.max(np.abs(a[1]))) if a[1].size else 0.0
        # The same values through the same arithmetic (attn_k_b derived at load is the tensor the
        # rewrite stores), so equal; 1e-6 relative leaves room for nothing but a layout mistake.
        ok = a[0] == b[0] and worst <= 1e-6 * max(scale, 1.0)
        report(ok, f"{name} ({'CPU' if extra else 'GPU'}): attn_kv_b and attn_k_b/attn_v_b layouts, same text "
                   f"{a[0].decode(errors='replace')[:40]!r}, logits within {worst:.2e} (max |logit| {scale:.2f})")
print(f"{failures} failures")
sys.exit(1 if failures else 0)
