#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs missing packages,
# builds lamina (Release, portable) and runs lamina-train: trains an MLP on
# Fashion-MNIST, saves it, reloads it and evaluates it on the test set.
# Idempotent: a second run reuses the build in build/release.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# ccache keys on paths relative to the checkout, so fresh clones reuse earlier builds.
export CCACHE_BASEDIR="$root"
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
./build/release/lamina-train "$@"
