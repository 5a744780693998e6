"""Hostile llama2.c checkpoints each give a clear error naming the file and field, and a
non-zero exit; never a crash. Built from the real stories260K header shape."""
import os, struct, subprocess, sys, tempfile

vkllm = sys.argv[1]
good = dict(dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512, seq_len=512)

def checkpoint(h, weight_bytes=None):
    head = struct.pack("7i", *(h[k] for k in good))
    if weight_bytes is None:
        weight_bytes = 1056540 - 28  # stories260K's size
    return head + bytes(weight_bytes)

cases = [
    ("empty file", b"", "too short for a llama2.c header"),
    ("truncated header", checkpoint(good)[:20], "too short for a llama2.c header"),
    ("zero dim", checkpoint({**good, "dim": 0}), "dim = 0 is out of range"),
    ("negative layers", checkpoint({**good, "n_layers": -3}), "n_layers = -3 is out of range"),
    ("huge vocabulary", checkpoint({**good, "vocab_size": 2**30}), "vocab_size = 1073741824 is out of range"),
    ("huge dim", checkpoint({**good, "dim": 2**31 - 1}), "dim = 2147483647 is out of range"),
    ("kv heads above heads", checkpoint({**good, "n_kv_heads": 16}), "n_kv_heads = 16 is out of range"),
    ("heads not dividing dim", checkpoint({**good, "n_heads": 7, "n_kv_heads": 7}), "heads must divide dim"),
    ("truncated weights", checkpoint(good, 5000), "run past the end of the file"),
    ("unshared classifier missing", checkpoint({**good, "vocab_size": -512}), "output.weight"),
]
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    tok = os.path.join(tmp, "tok.bin")
    open(tok, "wb").write(struct.pack("i", 1))
    for name, data, message in cases:
        path = os.path.join(tmp, "model.bin")
        open(path, "wb").write(data)
        r = subprocess.run([vkllm, "run", "-m", path, "-z", tok, "-n", "4", "--cpu"], capture_output=True, text=True)
        ok = r.returncode not in (0, -11, -6) and r.returncode > 0 and message in r.stderr and path in r.stderr
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {r.returncode}: {r.stderr.strip()}")
        failures += not ok
print(f"{len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
