#!/usr/bin/env bash
# Builds lamina (Release) and runs the whole test suite with ctest.
# Installs missing Debian packages first. Idempotent: reuses build/release.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# ccache keys on paths relative to the checkout, so fresh clones reuse earlier builds.
export CCACHE_BASEDIR="$root"
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
