#!/usr/bin/env bash
# Configures (once) and builds meshplane into build/ with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized -Dwerror=true >/dev/null
ninja -C build
