// Semantic checks on a parsed policy: names, references, overlaps. Adds every
// problem to `d` (with the offending value's line:column).
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

void validate(const Policy& policy, Diagnostics& d);

// Index of the port whose connected subnet holds `address`, or -1.
int connected_port(const Policy& policy, uint32_t address);
// The port that has `address` as one of its own addresses, or null.
const Port* owner_port(const Policy& policy, uint32_t address);
// On a connected subnet or covered by a static route.
bool routable(const Policy& policy, uint32_t address);

}  // namespace meshplane::config
