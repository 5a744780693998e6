"""`vkllm run` on the real stories260K model, on the GPU path (the default device; lavapipe in
CI, under the validation layer) and on the CPU reference path (--cpu), from the llama2.c
checkpoint and from the GGUF file, reproduces llama2.c byte for byte.

Reads ../shared/models (see its README); exits 77 (ctest: skipped) with a message when absent.
Logit bound: the smallest gap between the top two logits over this run is 4.2e-3
(expected/README.md), so any implementation within 1e-3 of llama2.c's logits everywhere picks
the same greedy tokens; both paths are at about 3e-5.
"""
import os
import re, struct, subprocess, sys, tempfile

vkllm, models = sys.argv[1], sys.argv[2]
if not os.path.isfile(os.path.join(models, "stories260K.bin")):
    print(f"SKIP: {models}/stories260K.bin not found (the shared model data sits beside the checkout)")
    sys.exit(77)
expected_text = open(os.path.join(models, "expected", "stories260K.t0.n256.noprompt.txt"), "rb").read()
expected_logits = open(os.path.join(models, "expected", "stories260K.t0.n256.noprompt.logits.f32"), "rb").read()
BOUND = 1e-3


INLINE_NOTE = "runs each dispatch on one thread (LP_NUM_THREADS=0)"


def environment(threads):
    """The test's environment with LP_NUM_THREADS unset (threads None) or set to `threads`."""
    env = {k: v for k, v in os.environ.items() if k != "LP_NUM_THREADS"}
    if threads is not None:
        env["LP_NUM_THREADS"] = threads
    return env


def check(model_args, threads=None):
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.f32")
        run = subprocess.run([vkllm, "run"] + model_args + ["-t", "0", "-n", "256", "--dump-logits", dump],
                             capture_output=True, env=environment(threads))
        assert run.returncode == 0, run.stderr.decode()
        err = run.stderr.decode()
        # A CPU device runs a model this small on one thread unless LP_NUM_THREADS says otherwise
        # (vkl_model_prefers_inline_dispatch); a GPU never prints the note.
        on_cpu_device = "llvmpipe" in err
        if "--cpu" not in model_args:
            assert (INLINE_NOTE in err) == (on_cpu_device and threads is None), err
        assert run.stdout == expected_text, "text differs from llama2.c:\n" + run.stdout.decode(errors="replace")
        got = open(dump, "rb").read()
    assert len(got) == len(expected_logits), (len(got), len(expected_logits))
    n = len(got) // 4
    a, b = struct.unpack(f"{n}f", got), struct.unpack(f"{n}f", expected_logits)
    worst = max(range(n), key=lambda i: abs(a[i] - b[i]))
    err = abs(a[worst] - b[worst])
    path = "CPU reference path" if "--cpu" in model_args else "GPU path"
    if threads is not None:
        path += f", LP_NUM_THREADS={threads}"
    print(f"{os.path.basename(model_args[1])}, {path}: text byte-exact; max logit difference {err:.3g} at position {worst // 512}, "
          f"token {worst % 512} (bound {BOUND})")
    assert err <= BOUND


for path in ([], ["--cpu"]):
    check(["-m", os.path.join(models, "stories260K.bin"), "-z", os.path.join(models, "tok512.bin")] + path)
    check(["-m", os.path.join(models, "stories260K.gguf")] + path)
# llvmpipe's worker threads, as a user who sets LP_NUM_THREADS gets them.
check(["-m", os.path.join(models, "stories260K.gguf")], threads="2")

# With a prompt the GPU runs it as batches (one of 21 tokens; 128 + the rest for the long one)
# while the CPU path runs token by token: the texts must still be identical.
prompt = "Once upon a time, there was a little dog named Max. He liked to"
for text in (prompt, " ".join([prompt] * 12)):
    outputs = []
    for path in ([], ["--cpu"]):
        r = subprocess.run([vkllm, "run", "-m", os.path.join(models, "stories260K.gguf"), "-t", "0", "-n", "40",
                            "-p", text] + path, capture_output=True)
        assert r.returncode == 0, r.stderr.decode()
        outputs.append(r.stdout)
    assert outputs[0] == outputs[1], f"GPU and CPU differ with a prompt:\n{outputs[0]!r}\n{outputs[1]!r}"
    assert outputs[0].startswith(text.encode()), outputs[0][:200]
    print(f"prompt of {len(text)} characters: GPU (batched prefill) and CPU texts identical")

# --validate: every dispatch of the real model, prompt batches of 128 and 52 tokens and then
# decode, checked against the CPU reference on the device's own inputs.
for model_args in (["-m", os.path.join(models, "stories260K.bin"), "-z", os.path.join(models, "tok512.bin")],
                   ["-m", os.path.join(models, "stories260K.gguf")]):
    r = subprocess.run([vkllm, "run"] + model_args + ["-t", "0", "-n", "16", "-p", " ".join([prompt] * 12),
                                                      "--validate"], capture_output=True)
    err = r.stderr.decode()
    assert r.returncode == 0 and "every dispatch within its bound" in err, err
    # prefill and decode run the texel variants on CPU devices (vkl_device_prefers_texel_reads)
    assert re.search(r"attention/prefill(_texel)?\.f32", err) and re.search(r"attention/decode(_texel)?\.f32", err), err
    dispatches = err.split("--validate: ")[1].split(" ")[0]
    print(f"--validate on {os.path.basename(model_args[1])}: {dispatches} dispatches within their bounds")
