// Semantic checks on access rules (called by validate()): references and
// fields that need a protocol are errors; a rule that can never match (an
// earlier rule covers it) or that an earlier rule with the opposite verdict
// partly overlaps is a warning.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

// Bounds that keep building the classifier well under a second.
inline constexpr size_t kMaxAccessRules = 65536;
// A rule with lists is one classifier entry per combination of its list items.
inline constexpr size_t kMaxAccessEntries = 1u << 18;

void validate_access(const Policy& policy, Diagnostics& d);

// Classifier entries a rule becomes.
size_t access_entries(const AccessRule& r);

// Does every packet `inner` matches also match `outer`? (Lists are compared
// item by item, so the answer errs towards "no".)
bool covers(const AccessRule& outer, const AccessRule& inner);
// Could one packet match both?
bool overlaps(const AccessRule& a, const AccessRule& b);

}  // namespace meshplane::config
