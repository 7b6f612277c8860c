// A YAML document read with libyaml into an immutable tree of nodes that
// keep their positions. yaml-cpp's loader read 1.8 MB (a policy of 10,000
// services) in about 690 ms; libyaml reads it in about 75 ms. yaml-cpp still
// writes YAML (config/emitter.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"

namespace meshplane::config {

class YamlTree;

// A handle to a node of a YamlTree, or to no node (a key that is absent).
// Valid while its tree lives.
class YamlNode {
 public:
  enum class Kind : uint8_t { kNull, kScalar, kList, kMap };

  YamlNode() = default;
  bool defined() const { return tree_ != nullptr; }
  Kind kind() const;
  bool is_null() const { return defined() && kind() == Kind::kNull; }
  bool is_scalar() const { return defined() && kind() == Kind::kScalar; }
  bool is_list() const { return defined() && kind() == Kind::kList; }
  bool is_map() const { return defined() && kind() == Kind::kMap; }
  // The scalar's text; empty for other kinds.
  const std::string& scalar() const;
  // 1-based; {0, 0} for no node.
  Mark mark() const;
  // A list's items, or a map's keys and values interleaved (key, value, ...).
  size_t child_count() const;
  YamlNode child(size_t i) const;

 private:
  friend class YamlTree;
  YamlNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}
  const YamlTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

class YamlTree {
 public:
  // Reads the first document of `text`; on a syntax error (or a second
  // document) `error` holds the message and `error_mark` its position.
  static YamlTree read(std::string_view text);
  YamlTree(YamlTree&&) = default;
  YamlTree& operator=(YamlTree&&) = default;

  bool ok() const { return error.empty(); }
  // The document's root: a null node for an empty document.
  YamlNode root() const { return nodes_.empty() ? YamlNode() : YamlNode(this, 0); }

  std::string error;
  Mark error_mark;

 private:
  friend class YamlNode;
  friend class YamlReader;
  struct Node {
    YamlNode::Kind kind;
    Mark mark;
    std::string scalar;
    std::vector<uint32_t> children;
  };
  YamlTree() = default;
  std::vector<Node> nodes_;
};

}  // namespace meshplane::config
