#!/usr/bin/env bash
# The GPU benchmark on a bare NVIDIA Linux host (README, "On a GPU"): from the project root with .gpu/ beside it
# (../shared/gpu-host/prepare.sh, then npm run bundle:gpu), `bash scripts/gpu-host-run.sh OUTDIR` writes
# OUTDIR/webgpu.json (bench/gpu.ts) and OUTDIR/torch.json (bench/torch_sae_step.py, the same step in PyTorch, in
# the same call), with their logs beside them. Extra arguments go to bench/gpu.ts (e.g. --seconds 5).
set -euo pipefail
out=${1:?usage: scripts/gpu-host-run.sh OUTDIR [gpu.ts options]}
shift
mkdir -p "$out"
source .gpu/setup.sh
# Dawn's native module travels compressed (the bundle must stay small); the bundled `webgpu` package looks for it here.
mkdir -p .gpu/dist/linux-x64
[ -s .gpu/dist/linux-x64/dawn.node ] || xz -dc .gpu/dawn.node.xz > .gpu/dist/linux-x64/dawn.node
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
node .gpu/gpu.mjs --out "$out/webgpu.json" "$@" 2> "$out/webgpu.log" | tail -c 300
python3 bench/torch_sae_step.py > "$out/torch.json" 2> "$out/torch.log" || echo "PyTorch step: see $out/torch.log"
cat "$out/torch.json"
