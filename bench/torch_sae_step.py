"""One TopK SAE training step in plain PyTorch, timed on the GPU: the reference figure for SAE Studio's webgpu step.

The same step as bench/sae-train.ts: pre = (x - b_D) W_E + b_E; z = ReLU(TopK(pre)) scattered into [B, F];
x_hat = z W_D + b_D; loss = sum over d of (x_hat - x)^2, mean over tokens; backward; the gradient component parallel
to each decoder row removed; Adam (lr 1e-4); decoder rows renormalised. Written for this repository (no code copied).

Usage: python3 bench/torch_sae_step.py [--seconds S] [--small]. Last line of stdout: one JSON object with a row per
case and precision (fp32 without TF32, fp32 with TF32 matmuls).
"""
import argparse
import json
import sys
import time

CASES = [
    ("sae_topk_d256_f4096_k32", 256, 4096, 32, 4096),
    ("sae_topk_d768_f24576_k32", 768, 24576, 32, 4096),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--small", action="store_true", help="a tiny case, to check the script on any machine")
    args = parser.parse_args()
    try:
        import torch
    except ImportError as err:
        print(json.dumps({"benchmark": "torch_sae_step", "error": f"PyTorch is not installed: {err}"}))
        sys.exit(0)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    cases = [("sae_topk_d64_f1024_k32_small", 64, 1024, 32, 512)] if args.small else CASES
    rows = []
    for name, d, n_latents, k, batch in cases:
        for precision in ("fp32", "tf32"):
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            ms = time_step(torch, device, d, n_latents, k, batch, args.seconds)
            rows.append({"name": name, "backend": f"pytorch-{device}", "precision": precision, "ms_per_step": round(ms, 3),
                         "tokens_per_second": round(batch / (ms / 1000))})
            print(json.dumps(rows[-1]), file=sys.stderr)
    info = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu"}
    print(json.dumps({"benchmark": "torch_sae_step", **info, "results": rows}))


def train_step(torch, params: dict, opt, x, k: int):
    """One step on batch x: TopK forward, loss, backward, decoder-parallel gradient removed, Adam, rows renormalised.
    Returns (loss, x_hat). Shared with bench/torch_quality.py."""
    pre = (x - params["b_D"]) @ params["W_E"] + params["b_E"]
    top = pre.topk(k, dim=-1)
    z = torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())
    x_hat = z @ params["W_D"] + params["b_D"]
    loss = (x_hat - x).pow(2).sum(-1).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        W, g = params["W_D"], params["W_D"].grad
        g -= (g * W).sum(dim=1, keepdim=True) * W
    opt.step()
    with torch.no_grad():
        params["W_D"] /= params["W_D"].norm(dim=1, keepdim=True)
    return loss, x_hat


def time_step(torch, device: str, d: int, n_latents: int, k: int, batch: int, seconds: float) -> float:
    gen = torch.Generator(device="cpu").manual_seed(0)
    W_D = torch.randn(n_latents, d, generator=gen)
    W_D /= W_D.norm(dim=1, keepdim=True)
    params = {
        "W_E": W_D.t().contiguous().to(device).requires_grad_(),
        "b_E": torch.zeros(n_latents, device=device, requires_grad=True),
        "W_D": W_D.to(device).requires_grad_(),
        "b_D": torch.zeros(d, device=device, requires_grad=True),
    }
    opt = torch.optim.Adam(params.values(), lr=1e-4, betas=(0.9, 0.999))
    x = torch.randn(batch, d, generator=gen).to(device)

    def step() -> None:
        train_step(torch, params, opt, x, k)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    sync()
    steps = 0
    t0 = time.perf_counter()
    while steps < 5 or (time.perf_counter() - t0 < seconds and steps < 2000):
        step()
        steps += 1
    sync()
    return (time.perf_counter() - t0) / steps * 1000


if __name__ == "__main__":
    main()
