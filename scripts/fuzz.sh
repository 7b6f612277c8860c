#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang,
# AddressSanitizer and UBSan, and runs each for SECONDS (default 60), keeping
# its corpus in build-fuzz/ between runs (seeded from tests/fuzz/seeds/NAME/
# when that exists, NAME the target's without _fuzz). A target names the code under test
# on a "// fuzz-sources:" line and any further libraries on "// fuzz-libs:". Exits non-zero on any crash; the
# reproducer is left in build-fuzz/. The test suite runs it for 30 seconds
# (meson test suite "fuzz"). Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -include rte_config.h
       $(pkg-config --cflags libdpdk) -Wno-deprecated-declarations -Wno-deprecated-volatile)
libs=($(pkg-config --libs libdpdk) -lIPSec_MB)
for target in tests/fuzz/*_fuzz.cc; do
  name=$(basename "$target" .cc)
  # The code under test: the target's "// fuzz-sources:" line.
  sources=($(sed -n 's|^// fuzz-sources: ||p' "$target"))
  extra=($(sed -n 's|^// fuzz-libs: ||p' "$target"))  # libraries it needs besides DPDK and ipsec-mb
  clang++ "${flags[@]}" "$target" "${sources[@]}" -o "$out/$name" "${libs[@]}" "${extra[@]}"
  corpus="$out/corpus-$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "tests/fuzz/seeds/${name%_fuzz}" ] && seeds=("../tests/fuzz/seeds/${name%_fuzz}")
  echo "fuzzing $name for ${seconds}s"
  (cd "$out" && "./$name" -max_total_time="$seconds" -max_len=1801 -print_final_stats=1 "corpus-$name" "${seeds[@]}" 2>&1 | tail -12)
done
