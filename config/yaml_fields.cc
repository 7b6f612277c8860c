#include "config/yaml_fields.h"

#include "config/address.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <set>

namespace meshplane::config {

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

const char* kind_name(const YamlNode& n) {
  if (!n.defined()) return "nothing";
  switch (n.kind()) {
    case YamlNode::Kind::kMap: return "a mapping";
    case YamlNode::Kind::kList: return "a list";
    case YamlNode::Kind::kScalar: return "a scalar";
    case YamlNode::Kind::kNull: return "empty";
  }
  return "nothing";
}

}  // namespace

Fields::Fields(const YamlNode& node, std::string_view what, Diagnostics& diags,
               std::initializer_list<std::string_view> known)
    : node_(node), what_(what), diags_(diags), mark_(node.mark()) {
  if (!node.is_map()) {
    diags_.error(mark_, fmt::format("{} must be a mapping, found {}", what_, kind_name(node)));
    return;
  }
  is_map_ = true;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < node.child_count(); i += 2) {
    const YamlNode key_node = node.child(i);
    const std::string& key = key_node.scalar();
    if (!seen.insert(key).second) {
      diags_.error(key_node.mark(), fmt::format("duplicate key '{}' in {}", key, what_));
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
    diags_.error(key_node.mark(), msg);
  }
}

YamlNode Fields::get(std::string_view key) const {
  if (!is_map_) return {};
  for (size_t i = 0; i < node_.child_count(); i += 2)
    if (node_.child(i).scalar() == key) return node_.child(i + 1);
  return {};
}

YamlNode Fields::require(std::string_view key) const {
  auto n = get(key);
  if (is_map_ && !n.defined())
    diags_.error(mark_, fmt::format("{} is missing required key '{}'", what_, key));
  return n;
}

bool read_string(const YamlNode& n, std::string_view what, Diagnostics& d, std::string& out) {
  if (!n.is_scalar() || n.scalar().empty()) {
    d.error(n.mark(), fmt::format("{} must be a non-empty string, found {}", what, kind_name(n)));
    return false;
  }
  out = n.scalar();
  return true;
}

bool read_uint(const YamlNode& n, std::string_view what, Diagnostics& d, uint64_t min,
               uint64_t max, uint64_t& out) {
  if (!n.is_scalar()) {
    d.error(n.mark(), fmt::format("{} must be an integer, found {}", what, kind_name(n)));
    return false;
  }
  const std::string& s = n.scalar();
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
    d.error(n.mark(), fmt::format("{} must be an integer, found '{}'", what, s));
    return false;
  }
  if (v < min || v > max) {
    d.error(n.mark(), fmt::format("{} must be between {} and {}, found {}", what, min, max, v));
    return false;
  }
  out = v;
  return true;
}

bool read_list(const YamlNode& n, std::string_view what, Diagnostics& d,
               std::vector<YamlNode>& out) {
  if (!n.defined() || n.is_null()) return true;
  if (!n.is_list()) {
    d.error(n.mark(), fmt::format("{} must be a list, found {}", what, kind_name(n)));
    return false;
  }
  for (size_t i = 0; i < n.child_count(); ++i) out.push_back(n.child(i));
  return true;
}

bool read_ipv4(const YamlNode& n, std::string_view what, Diagnostics& d, uint32_t& out) {
  std::string s;
  if (!read_string(n, what, d, s)) return false;
  auto a = parse_ipv4(s);
  if (!a) {
    d.error(n.mark(), fmt::format("{} '{}' is not an IPv4 address (expected a.b.c.d)", what, s));
    return false;
  }
  out = *a;
  return true;
}

bool read_prefix(const YamlNode& n, std::string_view what, Diagnostics& d, Ipv4Prefix& out) {
  std::string s;
  if (!read_string(n, what, d, s)) return false;
  auto p = parse_ipv4_prefix(s);
  if (!p) {
    d.error(n.mark(), fmt::format("{} '{}' is not an IPv4 prefix (expected a.b.c.d/len)", what, s));
    return false;
  }
  out = *p;
  return true;
}

bool read_bool(const YamlNode& n, std::string_view what, Diagnostics& d, bool& out) {
  const int c = read_choice(n, what, d, {"false", "true"});
  if (c < 0) return false;
  out = c == 1;
  return true;
}

int read_choice(const YamlNode& n, std::string_view what, Diagnostics& d,
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
  d.error(n.mark(), fmt::format("{} '{}' is not one of {}", what, s, expected));
  return -1;
}

}  // namespace meshplane::config
