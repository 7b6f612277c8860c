// Pattern sets checked against the rest of the policy and against Hyperscan:
// unique names, limits, references from services and authorizations, and each
// expression parsed by Hyperscan itself (hs_expression_info), so that a
// pattern it refuses is reported at its line and column with Hyperscan's
// reason by `meshplane --check` as well as by an apply.
#pragma once

#include <string>

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

void validate_pattern_sets(const Policy& policy, Diagnostics& d);

// What Hyperscan compiles for `p`: its regex, or its literal with every byte escaped.
std::string hyperscan_expression(const Pattern& p);
// HS_FLAG_* for `p`.
unsigned hyperscan_flags(const Pattern& p);
// True when the regex can match only at the start of a stream (it begins
// with ^ or \A, outside multiline mode): on a connection picked up mid-stream
// the start is unknown, so such a pattern does not apply there.
bool start_anchored(const Pattern& p);

}  // namespace meshplane::config
