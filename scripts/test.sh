#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds, and runs every meson test suite:
# unit (GoogleTest, real mbufs; also in an ASan+UBSan build), layering, fuzz
# (libFuzzer on the ESP parser, 30 s), and e2e (real namespaces, real kernel
# TCP through the daemon). Ends with
# "N passed, N failed[, N skipped]" over every test case of every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  --buildtype=debug -Dwerror=true >/dev/null
ninja -C build-asan tests/unit_tests >/dev/null

results=build/test-results
rm -rf "$results" && mkdir -p "$results"
# run NAME BUILD_DIR SUITE...: one meson test run, its JUnit file kept as NAME.xml.
# A run that fails without a failed case in its file (a sanitizer abort, a
# crash before the results were written) counts as one failure.
run() {
  local name=$1 dir=$2; shift 2
  local suites=() s; for s in "$@"; do suites+=(--suite "$s"); done
  local rc=0
  meson test -C "$dir" --no-rebuild --print-errorlogs "${suites[@]}" || rc=$?
  cp "$dir/meson-logs/testlog.junit.xml" "$results/$name.xml"
  if [ "$rc" != 0 ] && ! grep -q "<failure\|<error" "$results/$name.xml"; then
    echo "<testsuite name=\"$name\"><testcase name=\"$name run\"><failure message=\"meson test exited $rc; see $dir/meson-logs/testlog.txt\"/></testcase></testsuite>" \
      > "$results/$name-run.xml"
  fi
}
run unit build unit layering
run unit-asan build-asan unit
run unit-fuzz build fuzz
# pytest's own file lists every e2e test; meson's counts the suite as one.
rm -f build/meson-logs/e2e.junit.xml
meson test -C build --no-rebuild --verbose --suite e2e || true
cp build/meson-logs/e2e.junit.xml "$results/e2e.xml" 2>/dev/null || true
/usr/bin/python3 scripts/junit_summary.py "$results"/unit*.xml "$results/e2e.xml"
