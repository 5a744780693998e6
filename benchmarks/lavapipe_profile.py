#!/usr/bin/env python3
"""Where lavapipe spends a vkllm run, down to the machine code llvmpipe made of each shader.

    python3 benchmarks/lavapipe_profile.py [--vkllm build/vkllm] [--out DIR] -- bench --filter 'matmul/gemv_texel.f16/*'

Runs `vkllm ARGS` under perf (samples) and gdb (which stops it in vkl_device_destroy, before
the driver frees its JIT code, and dumps every anonymous executable mapping), disassembles the
dumps with objdump and prints each hot loop of the JIT code: its address range, its share of
the samples, its instructions per iteration, and how many per-lane loads it makes (llvmpipe
fetches a texel lane by lane: an index moved out of the vector, sign-extended, a 16-byte load;
so lane loads / lanes is the loop's texel fetches). Instruction counts per iteration do not
depend on the machine's load, unlike timings on a shared VM. Needs perf, gdb and objdump
(binutils); Linux x86-64 only. Annotated disassembly goes to DIR (default /tmp/vkllm-profile).
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys

GDB_SCRIPT = r'''
import gdb
gdb.execute("break vkl_device_destroy")
gdb.execute("run")
pid = gdb.selected_inferior().pid
dumped = 0
for line in open("/proc/%d/maps" % pid):
    fields = line.split()
    if "x" in fields[1] and len(fields) < 6:  # executable, no backing file: JIT code
        lo, hi = [int(v, 16) for v in fields[0].split("-")]
        gdb.execute("dump memory %s/jit_%x.bin %d %d" % (OUT, lo, lo, hi))
        dumped += 1
print("vkllm-profile: dumped %d JIT regions" % dumped)
gdb.execute("kill")
'''

INSN = re.compile(r'\s+([0-9a-f]+):\t[0-9a-f ]+\t(\S+)\s*(.*)')
LANE_LOAD = ('movslq', 'cltq')  # the sign extension of each lane's index before its load


def record(vkllm, args, out):
    for old in glob.glob(os.path.join(out, 'jit_*.bin')):
        os.remove(old)
    script = os.path.join(out, 'dump.py')
    with open(script, 'w') as f:
        f.write('OUT = %r\n' % out + GDB_SCRIPT)
    gdb = ['gdb', '-q', '-batch', '-ex', 'set pagination off', '-ex', 'file ' + vkllm,
           '-ex', 'set args ' + ' '.join("'%s'" % a for a in args), '-x', script]
    perf = ['perf', 'record', '-q', '-F', '4000', '-o', os.path.join(out, 'perf.data'), '--'] + gdb
    with open(os.path.join(out, 'run.log'), 'w') as log:
        subprocess.run(perf, stdout=log, stderr=subprocess.STDOUT, check=False)
    if not glob.glob(os.path.join(out, 'jit_*.bin')):
        sys.exit('vkllm-profile: no JIT code dumped; see %s/run.log' % out)


def samples(out):
    report = subprocess.run(['perf', 'report', '-i', os.path.join(out, 'perf.data'), '--sort', 'sym',
                             '--stdio'], capture_output=True, text=True).stdout
    at = collections.Counter()
    for line in report.splitlines():
        m = re.match(r'\s+([0-9.]+)%\s+\[\.\]\s+0x([0-9a-f]+)', line)
        if m:
            at[int(m.group(2), 16)] += float(m.group(1))
    return at


def disassemble(path, base):
    text = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64',
                           '--adjust-vma=%d' % base, path], capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        m = INSN.match(line)
        if m:
            rows.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return rows


def loops(rows):
    """(start, end) of each backward branch's range, innermost first where ranges nest."""
    found = set()
    for addr, op, arg in rows:
        m = re.match(r'0x([0-9a-f]+)', arg)
        if op.startswith('j') and m and int(m.group(1), 16) < addr:
            found.add((int(m.group(1), 16), addr))
    return sorted(found, key=lambda r: (r[1] - r[0], r[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--vkllm', default='build/vkllm')
    parser.add_argument('--out', default='/tmp/vkllm-profile')
    parser.add_argument('--lanes', type=int, default=8, help='SIMD lanes (LP_NATIVE_VECTOR_WIDTH / 32)')
    parser.add_argument('--min-share', type=float, default=1.0, help='loops under this %% are not shown')
    parser.add_argument('args', nargs='+', help='vkllm arguments, after --')
    opts = parser.parse_args()
    os.makedirs(opts.out, exist_ok=True)
    record(os.path.abspath(opts.vkllm), opts.args, opts.out)
    hot = samples(opts.out)
    total = sum(hot.values())
    print('JIT code: %.1f %% of samples (the rest: vkllm, the driver, the kernel, gdb)' % total)
    for path in sorted(glob.glob(os.path.join(opts.out, 'jit_*.bin'))):
        base = int(os.path.basename(path)[4:-4], 16)
        rows = disassemble(path, base)
        with open(path[:-4] + '.txt', 'w') as f:
            f.writelines('%6.2f %x %s %s\n' % (hot.get(a, 0.0), a, op, arg) for a, op, arg in rows)
        all_loops = loops(rows)
        for start, end in all_loops:
            share = sum(v for a, v in hot.items() if start <= a <= end)
            if share < opts.min_share:
                continue
            inner = [(a, b) for a, b in all_loops if start <= a and b <= end and (a, b) != (start, end)]
            body = [op for a, op, _ in rows if start <= a <= end and not any(c <= a <= d for c, d in inner)]
            ops = collections.Counter(body)
            lane_loads = sum(ops[op] for op in LANE_LOAD)
            print('\nloop %x-%x: %.1f %% of samples, %d instructions per iteration%s, %d lane loads '
                  '(%.1f texel fetches of %d lanes)' % (start, end, share, len(body),
                                                         ' outside %d nested loops' % len(inner) if inner else '',
                                                         lane_loads, lane_loads / opts.lanes, opts.lanes))
            print('  ' + ', '.join('%s %d' % kv for kv in ops.most_common(14)))
    print('\nannotated disassembly (sample %% per instruction): %s/jit_*.txt' % opts.out)


if __name__ == '__main__':
    main()
