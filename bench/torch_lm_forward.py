"""pdlm-4l-256 (GPT-2 architecture) forward in plain PyTorch, built from its model.safetensors with torch ops: the
reference side of bench/lm-vs-torch.ts. It first checks its logits (and blocks.2.hook_resid_post) against SAE
Studio's on the same windows, then times on this CPU with every core: the pass up to blocks.2.hook_resid_post
(activation generation) and the full pass with logits, on [batch, seq] windows. Written for this repository.

Usage: /usr/bin/python3 bench/torch_lm_forward.py --model DIR --check DIR [--batch 16 --seq 256 --seconds 6]
(--check holds ids.i32, logits.f32, hook.f32 and shape.json from SAE Studio.) Last line: one JSON object.

Debian's python3-torch calls whatever libblas.so.3 the system's alternatives select: the reference BLAS (netlib,
~6 GFLOP/s here) unless an optimised one is installed, which makes PyTorch ~10-25x slower than it is anywhere else.
The script refuses to time on the reference BLAS (`apt-get install libopenblas0-pthread` gives it OpenBLAS) unless
--allow-reference-blas is given, and reports the library it ran on.
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F16": np.float16, "F32": np.float32, "BF16": None}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = dtypes[info["dtype"]]
        if dt is None:
            raise SystemExit(f"{path}: {name} is bf16, not handled")
        arr = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"]).astype(np.float32)
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        out[key] = torch.from_numpy(arr.copy())
    return out


class Gpt2:
    def __init__(self, w, cfg):
        self.w = w
        self.n_layer = cfg["n_layer"]
        self.n_head = cfg["n_head"]
        self.eps = cfg["layer_norm_epsilon"]
        self.unembed = w.get("lm_head.weight", w["wte.weight"])
        self.masks = {}

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def lin(self, x, p):  # GPT-2 Conv1D: x @ W[in, out] + b
        return torch.addmm(self.w[p + ".bias"], x.reshape(-1, x.shape[-1]), self.w[p + ".weight"]).reshape(
            *x.shape[:-1], -1
        )

    def block(self, x, i):
        B, S, D = x.shape
        H = self.n_head
        p = f"h.{i}"
        qkv = self.lin(self.ln(x, p + ".ln_1"), p + ".attn.c_attn")
        q, k, v = qkv.split(D, dim=-1)
        q, k, v = (t.view(B, S, H, D // H).transpose(1, 2) for t in (q, k, v))  # [B, H, S, dh]
        if S not in self.masks:
            self.masks[S] = torch.full((S, S), float("-inf")).triu(1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H) + self.masks[S], dim=-1)
        z = (att @ v).transpose(1, 2).reshape(B, S, D)
        x = x + self.lin(z, p + ".attn.c_proj")
        h = self.lin(self.ln(x, p + ".ln_2"), p + ".mlp.c_fc")
        h = torch.nn.functional.gelu(h, approximate="tanh")  # gelu_new
        return x + self.lin(h, p + ".mlp.c_proj")

    def forward(self, ids, stop_after=None):
        S = ids.shape[1]
        x = self.w["wte.weight"][ids] + self.w["wpe.weight"][:S]
        for i in range(self.n_layer):
            x = self.block(x, i)
            if stop_after == i:
                return x  # blocks.{i}.hook_resid_post
        return self.ln(x, "ln_f") @ self.unembed.T


def blas_library():
    """The libblas that this process has loaded (Debian's torch links libblas.so.3, resolved by alternatives)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    real = sorted({os.path.realpath(p) for p in paths if p.startswith("/")})
    return real[0] if real else None


def timed(fn, tokens, seconds):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    ms = (time.perf_counter() - t0) / n * 1000
    return {"ms_per_forward": round(ms, 2), "tokens_per_second": round(tokens / (ms / 1000))}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--check", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--layer", type=int, default=2)
    p.add_argument("--allow-reference-blas", action="store_true")
    a = p.parse_args()
    blas = blas_library()
    if blas and "/blas/" in blas and not a.allow_reference_blas:
        raise SystemExit(
            f"PyTorch runs on the reference BLAS ({blas}): its timings would not be PyTorch's; "
            "install an optimised one (apt-get install libopenblas0-pthread) or pass --allow-reference-blas"
        )
    torch.set_num_threads(os.cpu_count())
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    model = Gpt2(load_safetensors(os.path.join(a.model, "model.safetensors")), cfg)

    shape = json.load(open(os.path.join(a.check, "shape.json")))
    b, s = shape["batch"], shape["seq"]
    ids = torch.from_numpy(np.fromfile(os.path.join(a.check, "ids.i32"), dtype=np.int32).astype(np.int64)).view(b, s)
    want_logits = np.fromfile(os.path.join(a.check, "logits.f32"), dtype=np.float32).reshape(b, s, -1)
    want_hook = np.fromfile(os.path.join(a.check, "hook.f32"), dtype=np.float32).reshape(b, s, -1)
    with torch.inference_mode():
        logits = model.forward(ids).numpy()
        hook = model.forward(ids, stop_after=a.layer).numpy()
    diff_logits = float(np.abs(logits - want_logits).max())
    diff_hook = float(np.abs(hook - want_hook).max())
    if not (diff_logits <= 1e-4 * max(1.0, float(np.abs(want_logits).max())) and diff_hook <= 1e-4 * max(1.0, float(np.abs(want_hook).max()))):
        raise SystemExit(f"torch and SAE Studio disagree: max |Δlogits| {diff_logits}, max |Δhook| {diff_hook}")

    x = torch.from_numpy((np.arange(a.batch * a.seq) * 7919 + 13) % cfg["vocab_size"]).view(a.batch, a.seq)
    with torch.inference_mode():
        hook_row = timed(lambda: model.forward(x, stop_after=a.layer), a.batch * a.seq, a.seconds)
        full_row = timed(lambda: model.forward(x), a.batch * a.seq, a.seconds)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blas": blas,
                "max_abs_diff_logits": diff_logits,
                "max_abs_diff_hook": diff_hook,
                "hook": hook_row,
                "full": full_row,
            }
        )
    )


if __name__ == "__main__":
    main()
