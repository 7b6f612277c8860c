#include "config/pattern_parser.h"

#include <fmt/format.h>

#include "config/access_parser.h"
#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {

void parse_flags(const YamlNode& n, Diagnostics& d, Pattern& p) {
  for (const auto& item : one_or_many(n, "pattern flags", d)) {
    const int c = read_choice(item, "pattern flag", d, {"caseless", "dotall", "multiline", "single_match"});
    bool* flag[] = {&p.caseless, &p.dotall, &p.multiline, &p.single_match};
    if (c >= 0) *flag[c] = true;
  }
}

void parse_pattern(const YamlNode& n, Diagnostics& d, PatternSet& set) {
  Fields f(n, "a pattern", d, {"name", "regex", "literal", "flags", "action", "tag"});
  if (!f.is_map()) return;
  Pattern p;
  p.mark = p.expression_mark = f.mark();
  p.name = fmt::format("pattern-{}", set.patterns.size() + 1);
  if (auto v = f.get("name"); v.defined()) read_string(v, "pattern name", d, p.name);
  const YamlNode regex = f.get("regex"), literal = f.get("literal");
  if (regex.defined() == literal.defined()) {
    d.error(f.mark(), fmt::format("pattern '{}' needs exactly one of 'regex' and 'literal'", p.name));
  } else {
    const YamlNode& e = regex.defined() ? regex : literal;
    p.literal = literal.defined();
    p.expression_mark = e.mark();
    if (read_string(e, p.literal ? "pattern literal" : "pattern regex", d, p.expression) && p.expression.empty())
      d.error(e.mark(), fmt::format("pattern '{}' is empty", p.name));
  }
  if (auto v = f.get("flags"); v.defined()) parse_flags(v, d, p);
  if (auto v = f.require("action"); v.defined()) {
    const int c = read_choice(v, "pattern action", d, {"block", "alert", "tag"});
    if (c >= 0) p.action = static_cast<PatternAction>(c);
  }
  if (auto v = f.get("tag"); v.defined()) {
    read_string(v, "pattern tag", d, p.tag);
    if (p.action != PatternAction::kTag)
      d.error(v.mark(), fmt::format("pattern '{}': 'tag' goes with action: tag", p.name));
  }
  if (p.action == PatternAction::kTag && p.tag.empty()) p.tag = p.name;
  set.patterns.push_back(std::move(p));
}

void parse_set(const YamlNode& n, Diagnostics& d, std::vector<PatternSet>& out) {
  Fields f(n, "a pattern set", d, {"name", "inspect_bytes", "directions", "out_of_order", "on_failure", "patterns"});
  if (!f.is_map()) return;
  PatternSet set;
  set.mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "pattern set name", d, set.name);
  if (auto v = f.get("inspect_bytes"); v.defined())
    read_uint_as(v, "pattern set inspect_bytes", d, 1, kMaxInspectBytes, set.inspect_bytes);
  if (auto v = f.get("directions"); v.defined()) {
    const int c = read_choice(v, "pattern set directions", d, {"both", "client", "server"});
    if (c >= 0) {
      set.client = c != 2;
      set.server = c != 1;
    }
  }
  if (auto v = f.get("out_of_order"); v.defined()) {
    const int c = read_choice(v, "pattern set out_of_order", d, {"hold", "stop"});
    if (c >= 0) set.hold_out_of_order = c == 0;
  }
  if (auto v = f.get("on_failure"); v.defined()) {
    const int c = read_choice(v, "pattern set on_failure", d, {"allow", "block"});
    if (c >= 0) set.fail_closed = c == 1;
  }
  std::vector<YamlNode> items;
  if (auto v = f.require("patterns"); v.defined() && read_list(v, "patterns", d, items)) {
    if (items.empty()) d.error(v.mark(), fmt::format("pattern set '{}' needs at least one pattern", set.name));
    for (const auto& item : items) parse_pattern(item, d, set);
  }
  out.push_back(std::move(set));
}

}  // namespace

const char* pattern_action_name(PatternAction a) {
  switch (a) {
    case PatternAction::kBlock: return "block";
    case PatternAction::kAlert: return "alert";
    case PatternAction::kTag: return "tag";
  }
  return "?";
}

void parse_pattern_sets(const YamlNode& n, Diagnostics& d, std::vector<PatternSet>& out) {
  std::vector<YamlNode> items;
  if (read_list(n, "pattern_sets", d, items))
    for (const auto& item : items) parse_set(item, d, out);
}

void parse_inspection(const YamlNode& n, Diagnostics& d, InspectionSettings& out) {
  Fields f(n, "inspection", d, {"flows_per_worker", "events_per_second"});
  if (auto v = f.get("flows_per_worker"); v.defined())
    read_uint_as(v, "inspection.flows_per_worker", d, 1, 1u << 20, out.flows_per_worker);
  if (auto v = f.get("events_per_second"); v.defined())
    read_uint_as(v, "inspection.events_per_second", d, 1, 1'000'000, out.events_per_second);
}

}  // namespace meshplane::config
