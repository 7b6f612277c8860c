// The `pattern_sets` and `inspection` sections of a policy (payload
// matching). Structural and type errors only; names, limits and what
// Hyperscan accepts are checked in pattern_validate.cc.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

void parse_pattern_sets(const YamlNode& n, Diagnostics& d, std::vector<PatternSet>& out);
void parse_inspection(const YamlNode& n, Diagnostics& d, InspectionSettings& out);

// "block", "alert", "tag".
const char* pattern_action_name(PatternAction a);

}  // namespace meshplane::config
