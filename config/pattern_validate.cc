#include "config/pattern_validate.h"

#include <fmt/format.h>
#include <hs/hs.h>

#include <set>
#include <unordered_map>
#include <unordered_set>

namespace meshplane::config {
namespace {

void check_expression(const PatternSet& set, const Pattern& p, Diagnostics& d) {
  if (p.expression.size() > kMaxPatternLength) {
    d.error(p.expression_mark, fmt::format("pattern '{}' of set '{}' is {} bytes long; at most {}", p.name, set.name,
                                           p.expression.size(), kMaxPatternLength));
    return;
  }
  if (p.literal && p.expression.find('\x7f') != std::string::npos) {
    // YAML has no printable form for it that survives being emitted again (meshctl get policy).
    d.error(p.expression_mark, fmt::format("pattern '{}' of set '{}': a literal cannot hold the byte 0x7f; write "
                                           "it as a regex with \\x7f",
                                           p.name, set.name));
    return;
  }
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_expression_info(hyperscan_expression(p).c_str(), hyperscan_flags(p), &info, &error) != HS_SUCCESS) {
    d.error(p.expression_mark, fmt::format("pattern '{}' of set '{}': Hyperscan refuses it: {}", p.name, set.name,
                                           error ? error->message : "unknown error"));
    hs_free_compile_error(error);
    return;
  }
  if (info->min_width == 0)
    d.error(p.expression_mark, fmt::format("pattern '{}' of set '{}' matches the empty string (it would match "
                                           "every connection); make it match at least one byte",
                                           p.name, set.name));
  std::free(info);
}

void check_reference(const std::unordered_map<std::string, const PatternSet*>& sets, const std::string& name,
                     Mark mark, std::string_view who, Diagnostics& d) {
  if (!name.empty() && !sets.count(name))
    d.error(mark, fmt::format("{} inspects with pattern set '{}': no such set under 'pattern_sets'", who, name));
}

}  // namespace

std::string hyperscan_expression(const Pattern& p) {
  if (!p.literal) return p.expression;
  std::string out;
  out.reserve(p.expression.size() * 4);
  for (const unsigned char c : p.expression) out += fmt::format("\\x{:02x}", c);
  return out;
}

unsigned hyperscan_flags(const Pattern& p) {
  unsigned f = 0;
  if (p.caseless) f |= HS_FLAG_CASELESS;
  if (p.dotall) f |= HS_FLAG_DOTALL;
  if (p.multiline) f |= HS_FLAG_MULTILINE;
  if (p.single_match) f |= HS_FLAG_SINGLEMATCH;
  return f;
}

bool start_anchored(const Pattern& p) {
  if (p.literal || p.multiline) return false;
  std::string_view e = p.expression;
  // Leading option groups such as (?i) or (?s) change nothing about anchoring.
  while (e.size() > 2 && e.substr(0, 2) == "(?" && e.find(')') != std::string_view::npos &&
         e.substr(2, e.find(')') - 2).find_first_not_of("imsx-") == std::string_view::npos)
    e.remove_prefix(e.find(')') + 1);
  return e.starts_with('^') || e.starts_with("\\A");
}

void validate_pattern_sets(const Policy& policy, Diagnostics& d) {
  std::unordered_map<std::string, const PatternSet*> sets;
  size_t total = 0;
  for (const auto& set : policy.pattern_sets) {
    if (!sets.emplace(set.name, &set).second)
      d.error(set.mark, fmt::format("pattern set '{}' is defined twice", set.name));
    if (sets.size() == kMaxPatternSets + 1)
      d.error(set.mark, fmt::format("at most {} pattern sets", kMaxPatternSets));
    std::unordered_set<std::string_view> names;
    for (const auto& p : set.patterns) {
      if (!names.insert(p.name).second)
        d.error(p.mark, fmt::format("pattern name '{}' is used twice in set '{}'", p.name, set.name));
      if (++total == kMaxPatterns + 1)
        d.error(p.mark, fmt::format("more than {} patterns in all pattern sets", kMaxPatterns));
      if (!p.expression.empty()) check_expression(set, p, d);
    }
  }
  std::set<std::string> used;
  for (const auto& s : policy.services) {
    check_reference(sets, s.inspect, s.inspect_mark, fmt::format("service '{}'", s.name), d);
    if (!s.inspect.empty() && s.mode == LbMode::kDirectReturn)
      d.error(s.inspect_mark, fmt::format("service '{}' uses direct return: its replies bypass the gateway, so its "
                                          "connections cannot be inspected",
                                          s.name));
    used.insert(s.inspect);
  }
  for (const auto& a : policy.authorization) {
    check_reference(sets, a.inspect, a.inspect_mark, fmt::format("authorization of {}", a.label()), d);
    used.insert(a.inspect);
    for (const auto& r : a.rules) {
      check_reference(sets, r.inspect, r.inspect_mark, fmt::format("rule '{}' of {}", r.name, a.label()), d);
      if (!r.inspect.empty() && r.action != AuthzAction::kAllow)
        d.error(r.inspect_mark, fmt::format("rule '{}' of {}: only an allow rule admits connections to inspect",
                                            r.name, a.label()));
      used.insert(r.inspect);
    }
  }
  for (const auto& set : policy.pattern_sets)
    if (!used.count(set.name))
      d.warning(set.mark, fmt::format("pattern set '{}' is not used by any service or authorization", set.name));
}

}  // namespace meshplane::config
