#include "config/yaml_tree.h"

#include <yaml.h>

#include <fmt/format.h>

#include <unordered_map>

namespace meshplane::config {

YamlNode::Kind YamlNode::kind() const { return tree_->nodes_[index_].kind; }

const std::string& YamlNode::scalar() const {
  static const std::string kEmpty;
  return defined() ? tree_->nodes_[index_].scalar : kEmpty;
}

Mark YamlNode::mark() const { return defined() ? tree_->nodes_[index_].mark : Mark{}; }

size_t YamlNode::child_count() const { return defined() ? tree_->nodes_[index_].children.size() : 0; }

YamlNode YamlNode::child(size_t i) const { return {tree_, tree_->nodes_[index_].children[i]}; }

// Builds the tree from libyaml's event stream. Nodes are stored in document
// order; an alias refers to its anchor's node (the tree is read-only, so a
// shared subtree is fine).
class YamlReader {
 public:
  YamlReader(YamlTree& tree, const YamlLimits& limits, const std::function<bool()>& abandoned)
      : tree_(tree), limits_(limits), abandoned_(abandoned) {}

  void run(std::string_view text) {
    if (text.size() > limits_.max_bytes) {
      tree_.error = fmt::format("the document is {} bytes; a policy may be at most {} bytes (docs/config.md, Limits)",
                                text.size(), limits_.max_bytes);
      tree_.error_mark = {1, 1};
      return;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    int documents = 0;
    uint64_t events = 0;
    for (bool done = false; !done; ++events) {
      if (abandoned_ && events % 4096 == 4095 && abandoned_()) {
        tree_.error = "reading stopped: the caller gave up waiting";
        tree_.error_mark = {1, 1};
        break;
      }
      yaml_event_t event;
      if (!yaml_parser_parse(&parser, &event)) {
        fail(parser);
        break;
      }
      switch (event.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) {
            tree_.error = "a policy file holds one YAML document; a second one starts here";
            tree_.error_mark = mark(event.start_mark);
            done = true;
          }
          break;
        case YAML_SCALAR_EVENT: scalar(event); break;
        case YAML_SEQUENCE_START_EVENT: open(YamlNode::Kind::kList, event, event.data.sequence_start.anchor); break;
        case YAML_MAPPING_START_EVENT: open(YamlNode::Kind::kMap, event, event.data.mapping_start.anchor); break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: close(); break;
        case YAML_ALIAS_EVENT: done = !alias(event); break;
        default: break;
      }
      yaml_event_delete(&event);
      if (!tree_.ok()) break;
    }
    yaml_parser_delete(&parser);
    if (!tree_.ok()) tree_.nodes_.clear();
  }

 private:
  static Mark mark(const yaml_mark_t& m) { return {static_cast<int>(m.line) + 1, static_cast<int>(m.column) + 1}; }

  void fail(const yaml_parser_t& p) {
    tree_.error = fmt::format("YAML syntax: {}", p.problem ? p.problem : "unreadable input");
    if (p.context) tree_.error += fmt::format(" ({})", p.context);
    tree_.error_mark = mark(p.problem_mark);
  }

  void limit(const yaml_mark_t& at, std::string message) {
    if (!tree_.ok()) return;
    tree_.error = std::move(message);
    tree_.error_mark = mark(at);
  }
  // Counts `weight` more nodes for a reader to walk; false past the limit.
  bool count(uint64_t weight, const yaml_mark_t& at) {
    walked_ += weight;
    if (walked_ <= limits_.max_nodes) return true;
    limit(at, fmt::format("more than {} nodes (an alias counts as every node it repeats); a policy may have at most "
                          "{} (docs/config.md, Limits)", limits_.max_nodes, limits_.max_nodes));
    return false;
  }

  // Appends a node and attaches it to the open list or map.
  uint32_t add(YamlNode::Kind kind, const yaml_mark_t& at) {
    count(1, at);
    const auto index = static_cast<uint32_t>(tree_.nodes_.size());
    tree_.nodes_.push_back({kind, mark(at), {}, {}});
    attach(index);
    return index;
  }
  void name(uint32_t index, const yaml_char_t* anchor) {
    if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = index;
  }
  void scalar(const yaml_event_t& e) {
    const auto& s = e.data.scalar;
    std::string_view text(reinterpret_cast<const char*>(s.value), s.length);
    // As YAML 1.2's core schema (and yaml-cpp): an empty or ~/null plain scalar is null.
    const bool null = s.style == YAML_PLAIN_SCALAR_STYLE &&
                      (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
    const uint32_t i = add(null ? YamlNode::Kind::kNull : YamlNode::Kind::kScalar, e.start_mark);
    if (!null) tree_.nodes_[i].scalar.assign(text);
    name(i, s.anchor);
  }

  // A list or map is named by its anchor when it ends, so an alias inside it
  // cannot make a cycle.
  void open(YamlNode::Kind kind, const yaml_event_t& e, const yaml_char_t* anchor) {
    if (open_.size() >= limits_.max_depth) {
      limit(e.start_mark, fmt::format("lists and maps nested more than {} deep; a policy may nest at most {} "
                                      "(docs/config.md, Limits)", limits_.max_depth, limits_.max_depth));
      return;
    }
    open_.push_back({add(kind, e.start_mark), anchor ? reinterpret_cast<const char*>(anchor) : ""});
  }
  void close() {
    const Open& o = open_.back();
    auto& node = tree_.nodes_[o.index];
    for (uint32_t c : node.children) node.weight += tree_.nodes_[c].weight;
    if (!o.anchor.empty()) anchors_[o.anchor] = o.index;
    open_.pop_back();
  }

  bool alias(const yaml_event_t& e) {
    const char* anchor = reinterpret_cast<const char*>(e.data.alias.anchor);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      tree_.error = fmt::format("YAML: alias *{} refers to no anchor defined before it (or to a node containing it)",
                                anchor);
      tree_.error_mark = mark(e.start_mark);
      return false;
    }
    if (!count(tree_.nodes_[it->second].weight, e.start_mark)) return false;
    attach(it->second);
    return true;
  }

  void attach(uint32_t index) {
    if (!open_.empty()) tree_.nodes_[open_.back().index].children.push_back(index);
  }

  struct Open {
    uint32_t index;
    std::string anchor;
  };
  YamlTree& tree_;
  const YamlLimits& limits_;
  const std::function<bool()>& abandoned_;
  uint64_t walked_ = 0;
  std::vector<Open> open_;
  std::unordered_map<std::string, uint32_t> anchors_;
};

YamlTree YamlTree::read(std::string_view text, const YamlLimits& limits, const std::function<bool()>& abandoned) {
  YamlTree tree;
  YamlReader(tree, limits, abandoned).run(text);
  return tree;
}

}  // namespace meshplane::config
