#!/usr/bin/env bash
# The GPU benchmark on a bare NVIDIA Linux host (docs/gpu-host.md): from the project root with .gpu/ beside it
# (bash scripts/gpu-host-prepare.sh, then npm run bundle:gpu), `bash scripts/gpu-host-run.sh OUTDIR` writes
# OUTDIR/webgpu.json (bench/gpu.ts) and OUTDIR/torch.json (bench/torch_sae_step.py, the same step in PyTorch, in
# the same call), with their logs beside them. Extra arguments go to bench/gpu.ts (e.g. --seconds 5, --quick); with
# --quality first, it runs the quality benchmark on webgpu instead (OUTDIR/quality.json; e.g. --quality --tokens N).
set -euo pipefail
out=${1:?usage: scripts/gpu-host-run.sh OUTDIR [gpu.ts options]}
shift
mkdir -p "$out"
source .gpu/setup.sh
# The bundles, Dawn's module and the packages they load travel as one archive (npm run bundle:gpu).
[ -s .gpu/gpu.mjs ] || tar -xJf .gpu/payload.tar.xz -C .gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
if [ "${1:-}" = --quality ]; then
  # The quality benchmark's training run and evaluation on webgpu (bench/quality.ts; its options after --quality).
  shift
  node .gpu/quality.mjs --backend webgpu "$@" > "$out/quality.json" 2> "$out/quality.log" || echo "quality run: see $out/quality.log"
  tail -c 600 "$out/quality.json"
  exit 0
fi
node .gpu/gpu.mjs --out "$out/webgpu.json" "$@" 2> "$out/webgpu.log" | tail -c 300
python3 bench/torch_sae_step.py > "$out/torch.json" 2> "$out/torch.log" || echo "PyTorch step: see $out/torch.log"
cat "$out/torch.json"
