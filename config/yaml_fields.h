// Typed, position-aware reading of YAML nodes (config/yaml_tree.h). Each reader records an error
// with the node's line:column and returns false instead of throwing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

// A mapping whose keys are checked against the known set on construction:
// unknown keys ("did you mean ...?") and duplicate keys are errors.
class Fields {
 public:
  Fields(const YamlNode& node, std::string_view what, Diagnostics& diags,
         std::initializer_list<std::string_view> known);
  bool is_map() const { return is_map_; }
  YamlNode get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).defined(); }
  Mark mark() const { return mark_; }
  // Records "missing required key" when absent.
  YamlNode require(std::string_view key) const;

 private:
  YamlNode node_;
  std::string what_;
  Diagnostics& diags_;
  Mark mark_;
  bool is_map_ = false;
};

bool read_string(const YamlNode& n, std::string_view what, Diagnostics& d, std::string& out);
bool read_uint(const YamlNode& n, std::string_view what, Diagnostics& d, uint64_t min,
               uint64_t max, uint64_t& out);
template <typename T>
bool read_uint_as(const YamlNode& n, std::string_view what, Diagnostics& d, uint64_t min,
                  uint64_t max, T& out) {
  uint64_t v = 0;
  if (!read_uint(n, what, d, min, max, v)) return false;
  out = static_cast<T>(v);
  return true;
}
// A sequence; a missing node is an empty list.
bool read_list(const YamlNode& n, std::string_view what, Diagnostics& d,
               std::vector<YamlNode>& out);

bool read_ipv4(const YamlNode& n, std::string_view what, Diagnostics& d, uint32_t& out);
bool read_prefix(const YamlNode& n, std::string_view what, Diagnostics& d, Ipv4Prefix& out);
// "true" or "false".
bool read_bool(const YamlNode& n, std::string_view what, Diagnostics& d, bool& out);
// Index of the scalar among `choices`, or -1 (error recorded, listing the choices).
int read_choice(const YamlNode& n, std::string_view what, Diagnostics& d,
                std::initializer_list<std::string_view> choices);

}  // namespace meshplane::config
