// YAML policy text -> config::Policy. Structural and type errors only; semantic
// checks (references, overlaps) are in validate.h. Never throws.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/status.h"

namespace meshplane::config {

// A usable policy, or kInvalid with every problem found.
struct ParseResult : Status {
  Policy policy;
  std::vector<Diagnostic> warnings;  // a valid policy that probably does not say what was meant
};

// Parses and validates: the one entry point the daemon, --check and the API
// use. `file` names the source in diagnostics. Documents past the limits of
// config/yaml_tree.h are refused with a position, before any slow work.
// `abandoned` (optional) is asked now and then; yes stops the work.
ParseResult load_policy_text(std::string_view text, const std::string& file,
                             const std::function<bool()>& abandoned = {});
ParseResult load_policy_file(const std::string& path);

}  // namespace meshplane::config
