// A YAML document read with libyaml into an immutable tree of nodes that
// keep their positions. yaml-cpp's loader read 1.8 MB (a policy of 10,000
// services) in about 690 ms; libyaml reads it in about 75 ms. yaml-cpp still
// writes YAML (config/emitter.cc).
#pragma once

#include <cstdint>
#include <functional>
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

// What a document may be, so that no input can make reading it slow or
// large (a policy of 10,000 services is about 1.8 MB, 6 levels deep and
// 400,000 nodes). Documented in docs/config.md, "Limits".
inline constexpr size_t kMaxPolicyBytes = 16u << 20;

struct YamlLimits {
  size_t max_bytes = kMaxPolicyBytes;
  uint32_t max_depth = 64;  // lists and maps inside each other
  // Nodes counted as a reader walks them: an alias counts as every node of
  // what it repeats, so nested aliases cannot multiply the work either.
  uint64_t max_nodes = 2'000'000;
};

class YamlTree {
 public:
  // Reads the first document of `text`; on a syntax error (or a second
  // document, or a limit passed) `error` holds the message and `error_mark`
  // its position. `abandoned`, if given, is asked now and then; when it says
  // yes, reading stops with an error.
  static YamlTree read(std::string_view text, const YamlLimits& limits = {},
                       const std::function<bool()>& abandoned = {});
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
    uint64_t weight = 1;  // nodes a walk of this one visits, aliases expanded
  };
  YamlTree() = default;
  std::vector<Node> nodes_;
};

}  // namespace meshplane::config
