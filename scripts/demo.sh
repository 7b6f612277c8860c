#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds meshplane and runs the demo topology.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
exec /usr/bin/python3 scripts/demo.py
