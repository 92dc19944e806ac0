#!/usr/bin/env bash
# Installs what the test suites need from Debian (idempotent; `npm test` runs it): Mesa >= 25 (lavapipe Vulkan) from
# bookworm-backports for WebGPU in Node, and Debian's chromium for the end-to-end suite. The native addon needs
# no system library (its own sgemm; OpenBLAS is used only where libopenblas-dev is already installed).
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-system-deps: not root or no apt-get: nothing installed (as root: bash scripts/install-system-deps.sh)" >&2
  exit 0
fi

. /etc/os-release
codename=${VERSION_CODENAME:-bookworm}
backports=/etc/apt/sources.list.d/${codename}-backports.sources
if [ "$codename" = bookworm ] && [ ! -f "$backports" ]; then
  cat > "$backports" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${codename}-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

mv="$(mesa_version || true)"
[ -n "$mv" ] && [ "$mv" -ge 25 ] || need+=(mesa)
have_pkg libvulkan1 || need+=(vulkan)
have_pkg chromium || need+=(chromium)
[ ${#need[@]} -eq 0 ] && { echo "install-system-deps: all present"; exit 0; }

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
for n in "${need[@]}"; do
  case "$n" in
    mesa) if [ "$codename" = bookworm ]; then
            apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
          else
            apt-get install -y -qq mesa-vulkan-drivers >/dev/null
          fi ;;
    vulkan) apt-get install -y -qq libvulkan1 >/dev/null ;;
    chromium) apt-get install -y -qq chromium >/dev/null ;;
  esac
done
echo "install-system-deps: installed ${need[*]} (mesa $(mesa_version))"
