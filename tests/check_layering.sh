#!/usr/bin/env bash
# The fast path must not depend on control-side code: nothing under dataplane/
# may include yaml-cpp or libyaml, gRPC, protobuf, fmt's heavy headers or config/ and ctrl/.
set -u
root=${1:-.}
bad=$(grep -rnE '#include [<"](yaml-cpp|yaml\.h|grpc|google/protobuf|config/|ctrl/|fmt/|CLI/)' "$root/dataplane" || true)
if [ -n "$bad" ]; then
  echo "dataplane/ includes control-side headers:"; echo "$bad"; exit 1
fi
echo "dataplane/ includes no control-side headers"
