#!/usr/bin/env bash
# Reproduces docs/benchmarks.md on a fresh 2-core Debian 12 machine, as root:
# installs and builds, reserves hugepages, then runs the memif suite (with its
# latency sweep and plots), the side-by-side with nftables and HAProxy, and the
# callgrind instruction counts and the in-process benchmarks. Each rewrites
# its own section of the page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
/usr/bin/python3 bench/run.py
/usr/bin/python3 bench/side_by_side.py
/usr/bin/python3 bench/instructions.py
/usr/bin/python3 bench/inprocess.py
echo "docs/benchmarks.md regenerated; raw results in bench/results/"
