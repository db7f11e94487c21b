#!/usr/bin/env bash
# Installs the Debian 12 packages lamina needs to build, test and run its
# main job, skipping those already installed. Runs apt-get as root, or
# through sudo otherwise. Usage: scripts/install-deps.sh [--sanitizers]
# (--sanitizers adds clang and its sanitizer/libFuzzer runtimes for
# scripts/sanitize.sh)
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libxsimd-dev libtbb-dev libcereal-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist
)
if [[ "${1:-}" == "--sanitizers" ]]; then packages+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ "$(id -u)" -eq 0 ]] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
