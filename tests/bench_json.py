#!/usr/bin/env python3
"""`vkllm bench --quick --format json` covers every registered kernel with the documented fields
and sane values; csv has its header; `--plot` and benchmarks/roofline.py (on the JSON) write PNG
charts where gnuplot is installed; `bench -m` reports pp and tg on stories260K.

usage: bench_json.py VKLLM [MODELS_DIR]
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

vkllm = sys.argv[1]
# The GPU-only row blocks (`rows` variants) read storage buffers, which lavapipe reads lane by
# lane: left out to keep this test short (`vkllm check` covers them).
skip_rows = ["--exclude", "*rows*/*"]  # in a variant name: a '/' follows (moe_count's rows=64 stays)
# Of the quantized formats, Q8_0 and Q4_K stand for the rest here (their variants share the
# kernels' code; each takes seconds at Llama-2-7B shapes on lavapipe).
skip_rows += ["--exclude", "*q[2356]_[01k]*", "--exclude", "*q4_[01]*"]
r = subprocess.run([vkllm, "bench", "--quick", "--format", "json", "--max-seconds", "2"] + skip_rows, capture_output=True)
assert r.returncode == 0, r.stderr.decode()
report = json.loads(r.stdout)  # stdout is one JSON document: device lines went to stderr
assert report["device"]["name"] and report["peaks"]["read_gbps"] > 0 and report["peaks"]["fma_f32_gflops"] > 0
kernels = {line.split("/")[0] for line in subprocess.run([vkllm, "check", "--list"], capture_output=True,
                                                         text=True, check=True).stdout.split()}
timed = {c["kernel"] for c in report["cases"] if c["status"] == "timed"}
assert kernels <= timed, f"kernels never timed: {kernels - timed}"
for c in report["cases"]:
    for key in ("kernel", "variant", "shape", "us_median", "us_min", "us_max", "gflops", "gbps", "pct_peak"):
        assert key in c, (key, c)
    if c["status"] == "timed":
        assert 0 < c["us_min"] <= c["us_median"] <= c["us_max"], c
        assert math.isfinite(c["pct_peak"]) and c["pct_peak"] > 0, c
        assert abs(c["gbps"] - c["bytes"] / c["us_median"] / 1e3) <= 1e-6 * c["gbps"] + 1e-9, c
assert not any("rows" in c["variant"] for c in report["cases"]), "--exclude left a rows case in"
print(f"bench --quick: {len(report['cases'])} cases, all {len(kernels)} kernels timed, fields consistent")

# --time-limit: the first case always starts; once the limit passes the rest are reported as
# skipped, and the report is still whole (the quick suite takes well over a second on lavapipe).
r = subprocess.run([vkllm, "bench", "--quick", "--format", "json", "--time-limit", "1"] + skip_rows, capture_output=True)
assert r.returncode == 0, r.stderr.decode()
statuses = ["late" if "--time-limit 1 s reached" in c["detail"] else c["status"] for c in json.loads(r.stdout)["cases"]]
assert statuses[0] == "timed" and "late" in statuses, statuses
assert "timed" not in statuses[statuses.index("late"):], "a case ran after the time limit"
print(f"bench --time-limit 1: {statuses.count('late')} of {len(statuses)} cases not started, report complete")

r = subprocess.run([vkllm, "bench", "--quick", "--filter", "rms_norm", "--format", "csv"], capture_output=True, text=True)
assert r.returncode == 0 and "kernel,variant,shape,suite,status,us_median" in r.stdout, r.stdout + r.stderr
print("bench --format csv: header and rows")

if shutil.which("gnuplot"):
    with tempfile.TemporaryDirectory() as tmp:
        live, saved, data = (os.path.join(tmp, n) for n in ("live.png", "saved.png", "bench.json"))
        r = subprocess.run([vkllm, "bench", "--quick", "--filter", "matmul/gemv*", "--filter", "rms_norm",
                            "--plot", live] + skip_rows, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        with open(data, "w") as f:
            json.dump(report, f)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "roofline.py")
        subprocess.run([sys.executable, script, data, saved], check=True, capture_output=True)
        for png in (live, saved):
            with open(png, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", png
    print("bench --plot and benchmarks/roofline.py: PNG roofline charts written")
else:
    print("bench --plot: skipped, gnuplot absent (Debian: gnuplot-nox)")

models = sys.argv[2] if len(sys.argv) > 2 else ""
model = os.path.join(models, "stories260K.gguf")
if os.path.exists(model):
    r = subprocess.run([vkllm, "bench", "-m", model, "-p", "32", "-n", "16", "-r", "2", "--profile"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "| pp32 |" in r.stdout and "| tg16 |" in r.stdout and "host" in r.stdout, r.stdout
    print("bench -m stories260K.gguf: pp32 and tg16 reported")
    # --profile: a row per step, 5 layers' worth of each layer step, times that add up.
    table = r.stdout[r.stdout.index("profile of one decode step"):].splitlines()[3:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table if line.startswith("|")]
    total = rows.pop()
    assert total[0] == "total", total
    steps = {row[0]: (int(row[2]), float(row[3])) for row in rows}
    assert steps["token_embd"][0] == 1 and steps["attention"][0] == 5 and steps["output.weight"][0] == 1, steps
    assert all(us > 0 for _, us in steps.values()), steps
    assert sum(n for n, _ in steps.values()) == int(total[2]), (steps, total)
    assert abs(sum(us for _, us in steps.values()) - float(total[3])) < 0.1 * len(steps), (steps, total)
    print(f"bench -m --profile: {len(steps)} steps, {total[2]} kernel runs, {total[3]} us per token")
else:
    print(f"bench -m: skipped, {model} absent")
