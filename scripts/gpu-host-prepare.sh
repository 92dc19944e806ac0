#!/usr/bin/env bash
# Fills the git-ignored folder .gpu/ with what a bare NVIDIA Linux host lacks: Node and the Vulkan/GL loader
# libraries (docs/gpu-host.md). Run on a Debian-based development machine, from anywhere in the repository:
#   bash scripts/gpu-host-prepare.sh
# Writes .gpu/node.xz (this machine's Node binary, xz-compressed, ~24 MB), .gpu/debs/*.deb (from apt-get download)
# and .gpu/setup.sh (sourced on the host by scripts/gpu-host-run.sh). Then `npm run bundle:gpu` adds the payload.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
mkdir -p .gpu/debs
# .gpu/ is in .gitignore; keep it out of git in checkouts whose .gitignore lacks it (works in linked worktrees too).
git check-ignore -q .gpu/ || echo '/.gpu/' >> "$(git rev-parse --git-path info/exclude)"
[ -s .gpu/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
(cd .gpu/debs && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
cat > .gpu/setup.sh <<'SH'
# source me on the GPU host, from the project root: Node on PATH, Vulkan loader + glvnd installed, NVIDIA ICD selected
mkdir -p /tmp/gpu-node && xz -dc .gpu/node.xz > /tmp/gpu-node/node && chmod +x /tmp/gpu-node/node
export PATH=/tmp/gpu-node:$PATH
for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
SH
du -sh .gpu
