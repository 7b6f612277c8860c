#include "config/yaml_fields.h"

#include "config/address.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <set>

namespace meshplane::config {

Mark mark_of(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const char* kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "empty";
    default: return "undefined";
  }
}

}  // namespace

Fields::Fields(const YAML::Node& node, std::string_view what, Diagnostics& diags,
               std::initializer_list<std::string_view> known)
    : node_(node), what_(what), diags_(diags), mark_(mark_of(node)) {
  if (!node.IsMap()) {
    diags_.error(mark_, fmt::format("{} must be a mapping, found {}", what_, kind_name(node)));
    return;
  }
  is_map_ = true;
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const auto key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      diags_.error(mark_of(kv.first), fmt::format("duplicate key '{}' in {}", key, what_));
      continue;
    }
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string_view best;
    size_t best_d = 3;  // suggest only close spellings
    for (auto k : known) {
      size_t dist = edit_distance(key, k);
      if (dist < best_d) best_d = dist, best = k;
    }
    std::string msg = fmt::format("unknown key '{}' in {}", key, what_);
    if (!best.empty()) msg += fmt::format("; did you mean '{}'?", best);
    else {
      msg += "; expected one of:";
      for (auto k : known) msg += fmt::format(" {}", k);
    }
    diags_.error(mark_of(kv.first), msg);
  }
}

YAML::Node Fields::get(std::string_view key) const {
  if (!is_map_) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : node_)
    if (kv.first.Scalar() == key) return kv.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node Fields::require(std::string_view key) const {
  auto n = get(key);
  if (is_map_ && !n.IsDefined())
    diags_.error(mark_, fmt::format("{} is missing required key '{}'", what_, key));
  return n;
}

bool read_string(const YAML::Node& n, std::string_view what, Diagnostics& d, std::string& out) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    d.error(mark_of(n), fmt::format("{} must be a non-empty string, found {}", what, kind_name(n)));
    return false;
  }
  out = n.Scalar();
  return true;
}

bool read_uint(const YAML::Node& n, std::string_view what, Diagnostics& d, uint64_t min,
               uint64_t max, uint64_t& out) {
  if (!n.IsScalar()) {
    d.error(mark_of(n), fmt::format("{} must be an integer, found {}", what, kind_name(n)));
    return false;
  }
  const std::string& s = n.Scalar();
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
    d.error(mark_of(n), fmt::format("{} must be an integer, found '{}'", what, s));
    return false;
  }
  if (v < min || v > max) {
    d.error(mark_of(n), fmt::format("{} must be between {} and {}, found {}", what, min, max, v));
    return false;
  }
  out = v;
  return true;
}

bool read_list(const YAML::Node& n, std::string_view what, Diagnostics& d,
               std::vector<YAML::Node>& out) {
  if (!n.IsDefined() || n.IsNull()) return true;
  if (!n.IsSequence()) {
    d.error(mark_of(n), fmt::format("{} must be a list, found {}", what, kind_name(n)));
    return false;
  }
  for (const auto& item : n) out.push_back(item);
  return true;
}

bool read_ipv4(const YAML::Node& n, std::string_view what, Diagnostics& d, uint32_t& out) {
  std::string s;
  if (!read_string(n, what, d, s)) return false;
  auto a = parse_ipv4(s);
  if (!a) {
    d.error(mark_of(n), fmt::format("{} '{}' is not an IPv4 address (expected a.b.c.d)", what, s));
    return false;
  }
  out = *a;
  return true;
}

int read_choice(const YAML::Node& n, std::string_view what, Diagnostics& d,
                std::initializer_list<std::string_view> choices) {
  std::string s;
  if (!read_string(n, what, d, s)) return -1;
  int i = 0;
  for (auto c : choices) {
    if (c == s) return i;
    ++i;
  }
  std::string expected;
  for (auto c : choices) expected += fmt::format("{}'{}'", expected.empty() ? "" : ", ", c);
  d.error(mark_of(n), fmt::format("{} '{}' is not one of {}", what, s, expected));
  return -1;
}

}  // namespace meshplane::config
