"""Every architecture of host/archs through the same seam: `mkmodel --arch NAME` writes a small
model with awkward sizes (GQA, a prime-ish hidden width; Qwen3 with heads wider than dim / heads),
then on lavapipe with validation on:
- the GPU text equals the CPU reference's text (greedy, a prompt run as one batch);
- `run --validate` passes on both read paths, and ran the blocks that make the architecture
  (LayerNorm, biases, GELU, learned positions for GPT-2; QK-norm for Qwen3; NeoX RoPE for
  Qwen2, Qwen3 and Phi-3);
- quantized files (q8_0, q4_k_m) of each do the same;
- DeepSeek-V2 also through its low-rank query (the deepseek-v2 preset's shapes) and from the
  older layout with attn_kv_b;
and bad files give named errors: an unknown architecture (listing the known ones), a fused
tensor of the wrong shape, a missing bias.

With ../shared's GPT-2 vocabulary, a GPT-2 model that uses it (mkmodel --vocab-from) prints a
prompt of multi-byte characters back exactly, through byte-level BPE both ways, on both paths.

usage: architectures.py VKLLM WORK_DIR [SHARED_MODELS]"""
import os, re, subprocess, sys

vkllm, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
failures = 0
PROMPT = "Once upon a time, in a small town"
# The blocks each architecture must have run: patterns of --validate's table (step label, kernel).
BLOCKS = {
    "gpt2": [r"position_embd embedding/", r"attn_norm layer_norm/", r"attn_q\.bias bias_add/",
             r"attn_output\.bias bias_add/", r"ffn_gelu gelu/", r"ffn_down\.bias bias_add/", r"output_norm layer_norm/"],
    "qwen2": [r"attn_q\.bias bias_add/", r"attn_k\.bias bias_add/", r"rope rope/\S*neox"],
    "qwen3": [r"attn_q_norm rms_norm/", r"attn_k_norm rms_norm/", r"rope rope/\S*neox"],
    "phi3": [r"(rope rope|attn_qkv attn_qkv)/\S*neox", r"(ffn_gate\.weight matmul|ffn_gate_up ffn_gate_up)/"],
    "llama": [r"(rope rope|attn_qkv attn_qkv)/\S*adjacent"],
    # multi-head latent attention, a dense first layer, routed and shared experts
    "deepseek2": [r"attn_kv_a_norm rms_norm/", r"rope rope/\S*adjacent", r"kv_append kv_append/", r"attn_k_b head_matmul/",
                  r"attention attention_mla/", r"attn_v_b head_matmul/", r"(ffn_gate_up ffn_gate_up|ffn_gate\.weight matmul)/",
                  r"ffn_moe moe/", r"ffn_shexp_swiglu swiglu/"],
}


def report(ok, what):
    global failures
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}")


def run(model, *extra, env=None):
    return subprocess.run([vkllm, "run", "-m", model, "-t", "0", "--ignore-eos", "-n", "6", "-p", PROMPT, *extra],
                          capture_output=True, env=env)


def mkmodel(path, arch, *extra):
    r = subprocess.run([vkllm, "mkmodel", "-o", path, "--arch", arch, "--layers", "2", "--vocab", "300",
                        "--context", "96", "--seed", "5", *extra], capture_output=True)
    if r.returncode != 0:
        report(False, f"mkmodel --arch {arch} {' '.join(extra)}: {r.stderr.decode()[-300:]}")
    return r.returncode == 0


def check_model(path, name, blocks):
    gpu, cpu = run(path), run(path, "--cpu")
    same = gpu.returncode == 0 and cpu.returncode == 0 and gpu.stdout == cpu.stdout
    report(same, f"{name}: GPU and CPU texts identical: {gpu.stdout.decode(errors='replace')[:60]!r}"
           + ("" if same else f" vs {cpu.stdout.decode(errors='replace')[:60]!r} {gpu.stderr.decode()[-300:]}"))
    for read_path in ("texel", "storage"):
        r = run(path, "--validate", env=dict(os.environ, VKLLM_READ_PATH=read_path))
        table = r.stderr.decode()
        missing = [b for b in blocks if not re.search(r"\b" + b, table)]
        ok = r.returncode == 0 and "every dispatch within its bound" in table and not missing
        report(ok, f"{name}: --validate on the {read_path} path"
               + ("" if ok else f": exit {r.returncode}, blocks not run {missing}\n{table[-1500:]}"))


for arch, blocks in BLOCKS.items():
    path = os.path.join(work, f"{arch}.gguf")
    if mkmodel(path, arch, "--dim", "96", "--hidden", "136", "--heads", "6", "--kv-heads", "2"):
        check_model(path, arch, blocks)
    for kind in ("q8_0", "q4_k_m"):  # K-quants need widths of whole 256-value blocks
        path = os.path.join(work, f"{arch}-{kind}.gguf")
        if mkmodel(path, arch, "--dim", "256", "--hidden", "512", "--heads", "4", "--kv-heads", "2", "--type", kind):
            check_model(path, f"{arch} {kind}", blocks[:1])


for name, extra in (("deepseek2 low-rank query", ["--preset", "deepseek-v2", "--vocab", "300", "--context", "96"]),
                    ("deepseek2 attn_kv_b layout", ["--mla-kv-b"])):
    path = os.path.join(work, name.replace(" ", "_") + ".gguf")
    if mkmodel(path, "deepseek2", *extra, "--dim", "96", "--hidden", "136", "--heads", "6", "--layers", "3",
               "--experts", "5", "--experts-used", "2"):
        check_model(path, name, BLOCKS["deepseek2"] + ([r"attn_q_a_norm rms_norm/"] if "--preset" in extra else []))


def expect_error(name, data, message):
    path = os.path.join(work, name + ".gguf")
    open(path, "wb").write(data)
    r = subprocess.run([vkllm, "run", "-m", path, "-n", "1", "--cpu"], capture_output=True)
    err = r.stderr.decode(errors="replace")
    report(r.returncode not in (0,) and r.returncode < 128 and message in err,
           f"{name}: exit {r.returncode}, {'names it' if message in err else 'WANTED ' + repr(message)}: {err.strip()[:200]!r}")


shared_vocab = os.path.join(sys.argv[3] if len(sys.argv) > 3 else "", "vocab", "ggml-vocab-gpt-2.gguf")
if os.path.isfile(shared_vocab):
    path = os.path.join(work, "gpt2-bpe.gguf")
    if mkmodel(path, "gpt2", "--dim", "64", "--hidden", "128", "--heads", "4", "--kv-heads", "4",
               "--vocab-from", shared_vocab):
        text = "Héllo wörld — 日本語 🦙, naïve café"
        outs = [subprocess.run([vkllm, "run", "-m", path, "-t", "0", "--ignore-eos", "-n", "8", "-p", text, *extra],
                               capture_output=True) for extra in ([], ["--cpu"])]
        ok = all(o.returncode == 0 and o.stdout.startswith(text.encode()) for o in outs) and outs[0].stdout == outs[1].stdout
        report(ok, f"gpt2 with GPT-2's BPE vocabulary: the prompt comes back whole, GPU = CPU: "
               f"{outs[0].stdout.decode(errors='replace')[:70]!r}")
else:
    print(f"SKIP the BPE-vocabulary model: {shared_vocab} not found (the shared model data sits beside the checkout)")

gpt2 = open(os.path.join(work, "gpt2.gguf"), "rb").read()
expect_error("unknown_architecture", gpt2.replace(b"\x04\x00\x00\x00\x00\x00\x00\x00gpt2", b"\x04\x00\x00\x00\x00\x00\x00\x00gpt9", 1),
             "general.architecture is gpt9; vkllm runs llama, gpt2, qwen2, qwen3, phi3")
expect_error("missing_bias", gpt2.replace(b"blk.1.attn_qkv.bias", b"blk.1.attn_qkv.bia_", 1),
             "tensor blk.1.attn_qkv.bias is missing (gpt2)")
# attn_qkv of layer 0 claims one row more (ne[1] of its info): its parts do not add up.
info = gpt2.index(b"blk.0.attn_qkv.weight") + len(b"blk.0.attn_qkv.weight")
ne1 = info + 4 + 8
rows = int.from_bytes(gpt2[ne1:ne1 + 8], "little")
bad = gpt2[:ne1] + (rows - 96).to_bytes(8, "little") + gpt2[ne1 + 8:]
expect_error("fused_qkv_wrong_rows", bad, f"tensor blk.0.attn_qkv.weight has {rows - 96} rows; the model's shape needs {rows}")
deepseek = open(os.path.join(work, "deepseek2.gguf"), "rb").read()
expect_error("deepseek2_no_up_projections", deepseek.replace(b"blk.1.attn_k_b.weight", b"blk.1.attn_k_x.weight", 1),
             "blk.1.attn_k_b.weight and blk.1.attn_v_b.weight, or blk.1.attn_kv_b.weight of")
key = b"deepseek2.expert_gating_func"  # a u32 after its key and type: 2 is DeepSeek-V3's sigmoid
at = deepseek.index(key) + len(key) + 4
expect_error("deepseek2_sigmoid_gating", deepseek[:at] + (2).to_bytes(4, "little") + deepseek[at + 4:],
             "deepseek2.expert_gating_func is 2: vkllm applies softmax gating (1) only")
print(f"{failures} failures")
sys.exit(1 if failures else 0)
