"""`vkllm check --json` writes what the issue promises, and reruns are reproducible."""
import json, subprocess, sys, tempfile, os

vkllm = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "check.json")
    cmd = [vkllm, "check", "--quick", "--seed", "12345", "--filter", "rms_norm/f32/*", "--filter", "matmul/gemv.f16", "--json", path]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    with open(path) as f:
        report = json.load(f)
    for key in ("name", "vendor", "driver", "subgroup_size"):
        assert key in report["device"], key
    assert report["seed"] == 12345
    cases = report["cases"]
    assert len(cases) == 10, len(cases)
    for c in cases:
        for key in ("kernel", "variant", "shape", "max_err", "bound", "status"):
            assert key in c, (key, c)
        assert c["status"] == "PASS", c
        assert 0 <= c["max_err"] <= c["bound"], c
    assert {c["kernel"] for c in cases} == {"rms_norm", "matmul"}

    # Same seed, same inputs: errors are identical whether a case runs alone or in the sweep.
    one = cases[3]
    again = subprocess.run([vkllm, "check", "--seed", "12345", "--filter", one["case"], "--json", path],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    with open(path) as f:
        rerun = json.load(f)["cases"]
    assert len(rerun) == 1 and rerun[0]["case"] == one["case"], rerun
    assert rerun[0]["max_err"] == one["max_err"], (rerun[0], one)

    # JSON on stdout keeps the table off stdout.
    out = subprocess.run([vkllm, "check", "--filter", one["case"], "--json", "-"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cases"][0]["case"] == one["case"]
print("check --json: fields, seed reproducibility and stdout mode OK")
