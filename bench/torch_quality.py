"""The quality recipe of tests/fixtures/reference/sae-quality.json, trained in plain PyTorch on an activation cache that
`sae-studio generate` wrote: a cross-check of SAE Studio's trainer on exactly the same activations.

TopK SAE, k 32, 4096 latents, one pass in batches of 4096 tokens, Adam lr 4e-4 (betas 0.9, 0.999) with 100 linear
warm-up steps and a linear decay to 0 over the last 20% of steps, dataset-wise normalisation to a mean norm of
sqrt(d_model), decoder rows kept at unit norm (parallel gradient component removed before each step, rows
renormalised after), W_E = W_D^T and b_D = the mean input at initialisation. Written for this repository.

The dictionary is saved in lm-saes layout (normalisation folded into the weights) so that
`sae-studio eval --dictionary DIR --model pdlm-4l-256 --windows tests/fixtures/pdlm-4l-256-reference/val_windows.safetensors`
scores it with the same evaluation as SAE Studio's own runs.

Usage: python3 bench/torch_quality.py --cache DIR --hook blocks.2.hook_resid_post --out DIR [--seed N]
       [--b-dec-tokens N] [--init normal|kaiming]. Last line: one JSON object.
"""
import argparse
import json
import math
import os
import sys
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cache", required=True)
    p.add_argument("--hook", default="blocks.2.hook_resid_post")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--latents", type=int, default=4096)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--b-dec-tokens", type=int, default=0, help="tokens for b_D's mean (0: all)")
    p.add_argument("--init", choices=["normal", "kaiming"], default="normal")
    p.add_argument("--max-chunks", type=int, default=0, help="read only the first N chunks (a quick check)")
    args = p.parse_args()

    import torch
    from safetensors.torch import load_file, save_file

    from torch_sae_step import train_step  # the same step as the timing script (bench/ is on sys.path)

    t0 = time.perf_counter()
    folder = os.path.join(args.cache, args.hook)
    chunks = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    if args.max_chunks > 0:
        chunks = chunks[: args.max_chunks]
    parts = []
    for name in chunks:
        c = load_file(os.path.join(folder, name))
        act, mask = c["activation"], c["mask"].bool()
        parts.append(act[mask])
    X = torch.cat(parts)
    del parts
    n, d = X.shape
    mean_norm = X.norm(dim=1).mean().item()
    scale = math.sqrt(d) / mean_norm
    X.mul_(scale)
    print(f"{n} tokens, d {d}, mean norm {mean_norm:.4f}, scale {scale:.4f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    torch.manual_seed(args.seed)
    F, k, B = args.latents, args.k, args.batch
    if args.init == "normal":
        W_D = torch.randn(F, d)
    else:
        W_D = torch.empty(F, d)
        torch.nn.init.kaiming_uniform_(W_D, a=math.sqrt(5))
    W_D /= W_D.norm(dim=1, keepdim=True)
    b_D = (X[: args.b_dec_tokens] if args.b_dec_tokens > 0 else X).mean(0)
    params = {
        "W_E": W_D.t().contiguous().requires_grad_(),
        "b_E": torch.zeros(F, requires_grad=True),
        "W_D": W_D.clone().requires_grad_(),
        "b_D": b_D.clone().requires_grad_(),
    }
    steps = n // B
    warm, cool = 100, int(0.2 * steps)

    def lr_factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if step >= steps - cool:
            return (steps - step) / cool
        return 1.0

    opt = torch.optim.Adam(params.values(), lr=args.lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    order = torch.randperm(n)
    for step in range(steps):
        x = X[order[step * B:(step + 1) * B]]
        loss, x_hat = train_step(torch, params, opt, x, k)
        sched.step()
        if step % 100 == 0:
            with torch.no_grad():
                ev = 1 - (x - x_hat).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
            print(f"step {step} loss {loss.item():.3f} ev {ev.item():.4f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    # lm-saes layout, the dataset-wise scale folded in: the dictionary reads and writes raw activations.
    with torch.no_grad():
        weights = {
            "W_E": (params["W_E"] * scale).contiguous(),
            "b_E": params["b_E"].clone(),
            "W_D": (params["W_D"] / scale).contiguous(),
            "b_D": (params["b_D"] / scale).clone(),
        }
    os.makedirs(args.out, exist_ok=True)
    save_file(weights, os.path.join(args.out, "sae_weights.safetensors"))
    config = {
        "sae_type": "sae", "hook_point_in": args.hook, "hook_point_out": args.hook, "d_model": d, "d_sae": F,
        "expansion_factor": F // d, "act_fn": "topk", "top_k": k, "use_decoder_bias": True,
        "apply_decoder_bias_to_pre_encoder": True, "norm_activation": "inference", "sparsity_include_decoder_norm": False,
        "model_name": "pdlm-4l-256", "dtype": "float32",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(json.dumps({"benchmark": "torch_quality", "tokens": n, "steps": steps, "scale": scale, "seed": args.seed,
                      "init": args.init, "b_dec_tokens": args.b_dec_tokens or n, "seconds": round(time.perf_counter() - t0, 1),
                      "out": args.out}))


if __name__ == "__main__":
    main()
