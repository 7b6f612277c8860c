#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds, and runs every test: unit tests
# (GoogleTest, real mbufs), the layering check, and the end-to-end suite (real
# namespaces, real kernel TCP through the daemon). Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

results=build/test-results
rm -rf "$results" && mkdir -p "$results"
build/tests/unit_tests --gtest_output="xml:$results/unit.xml" || true
bash tests/check_layering.sh . && layering=pass || layering=fail
cat > "$results/layering.xml" <<XML
<testsuite name="layering"><testcase name="dataplane_has_no_control_includes">$([ "$layering" = pass ] || echo '<failure message="control-side include under dataplane/"/>')</testcase></testsuite>
XML
/usr/bin/python3 -m pytest tests/e2e -v -p no:cacheprovider --junitxml="$results/e2e.xml" || true
/usr/bin/python3 scripts/junit_summary.py "$results"/*.xml
