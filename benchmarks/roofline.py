#!/usr/bin/env python3
"""Roofline chart of a saved `vkllm bench --format json` run, as `vkllm bench --plot` draws a
live one: the measured read and f32 FMA roofs and every timed case with FLOPs, by kernel.

    python3 benchmarks/roofline.py benchmarks/results/nvidia-h100/bench.json roofline.png

Needs gnuplot (Debian: gnuplot-nox, installed by ./setup.sh)."""
import json
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run = json.load(open(sys.argv[1]))
    peaks, name = run["peaks"], run["device"]["name"]
    kernels = []  # in first-seen order, as the registry lists them
    points = {}
    for c in run["cases"]:
        if c.get("us_median") and c.get("flops") and c.get("bytes") and c.get("gflops"):
            if c["kernel"] not in points:
                kernels.append(c["kernel"])
                points[c["kernel"]] = []
            points[c["kernel"]].append((c["flops"] / c["bytes"], c["gflops"]))
    if not kernels:
        sys.exit(f"{sys.argv[1]}: no timed case with FLOPs")
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        for k in kernels:
            data.write("".join(f"{x:g} {y:g}\n" for x, y in points[k]) + "\n\n")
    read, fma = peaks["read_gbps"], peaks["fma_f32_gflops"]
    script = f"""set terminal pngcairo size 1200,700 noenhanced
set output '{sys.argv[2]}'
set logscale xy
set format xy '%g'
set grid
set title 'vkllm bench on {name}: roofline from measured peaks'
set xlabel 'arithmetic intensity (FLOP/byte)'
set ylabel 'GFLOP/s'
set key outside right top noenhanced
set xrange [0.01:1000]
roof(x) = (x * {read:g} < {fma:g}) ? x * {read:g} : {fma:g}
names = '{" ".join(kernels)}'
plot roof(x) title 'roofline (read {read:.1f} GB/s, f32 FMA {fma:.0f} GFLOP/s)' lw 2 lc 'black', \\
  for [i=1:{len(kernels)}] '{data.name}' index i-1 using 1:2 with points pt (i <= 8 ? 7 : 5) lc (i - 1) % 8 + 1 ps 1.3 title word(names, i)
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    print(f"roofline chart written to {sys.argv[2]}")


if __name__ == "__main__":
    main()
