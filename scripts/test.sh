#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds, and runs every test: unit tests
# (GoogleTest, real mbufs, also under ASan+UBSan), the layering check, and the end-to-end suite (real
# namespaces, real kernel TCP through the daemon). Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

results=build/test-results
rm -rf "$results" && mkdir -p "$results"
build/tests/unit_tests --gtest_output="xml:$results/unit.xml" || true
# The same unit tests under AddressSanitizer (with leak checks) and UBSan.
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  --buildtype=debug -Dwerror=true >/dev/null
ninja -C build-asan tests/unit_tests >/dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-asan/tests/unit_tests --gtest_output="xml:$results/unit-asan.xml" >"$results/unit-asan.log" 2>&1 \
  || { echo "sanitizer run failed:"; tail -40 "$results/unit-asan.log"
       # A sanitizer report aborts the run before gtest writes its XML: count it as a failure.
       echo '<testsuite name="sanitizers"><testcase name="unit_tests_under_asan_ubsan"><failure message="see build/test-results/unit-asan.log"/></testcase></testsuite>' \
         > "$results/unit-asan-abort.xml"; }
bash tests/check_layering.sh . && layering=pass || layering=fail
cat > "$results/layering.xml" <<XML
<testsuite name="layering"><testcase name="dataplane_has_no_control_includes">$([ "$layering" = pass ] || echo '<failure message="control-side include under dataplane/"/>')</testcase></testsuite>
XML
/usr/bin/python3 -m pytest tests/e2e -v -p no:cacheprovider --junitxml="$results/e2e.xml" || true
/usr/bin/python3 scripts/junit_summary.py "$results"/*.xml
