#include "config/yaml_tree.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace meshplane::config {
namespace {

// Walks yaml-cpp's tree and ours side by side: same kinds, texts, order and
// positions for every node but empty values, which yaml-cpp places at the
// next token and libyaml right after the key (NullForms).
void expect_same(const YAML::Node& theirs, const YamlNode& ours, const std::string& path) {
  if (theirs.Type() == YAML::NodeType::Null) {
    EXPECT_TRUE(ours.is_null()) << path;
    return;
  }
  const YAML::Mark m = theirs.Mark();
  EXPECT_EQ(ours.mark().line, m.line + 1) << path;
  EXPECT_EQ(ours.mark().column, m.column + 1) << path;
  switch (theirs.Type()) {
    case YAML::NodeType::Scalar:
      ASSERT_TRUE(ours.is_scalar()) << path;
      EXPECT_EQ(ours.scalar(), theirs.Scalar()) << path;
      return;
    case YAML::NodeType::Sequence: {
      ASSERT_TRUE(ours.is_list()) << path;
      ASSERT_EQ(ours.child_count(), theirs.size()) << path;
      size_t i = 0;
      for (const auto& item : theirs) {
        expect_same(item, ours.child(i), path + "/" + std::to_string(i));
        ++i;
      }
      return;
    }
    case YAML::NodeType::Map: {
      ASSERT_TRUE(ours.is_map()) << path;
      ASSERT_EQ(ours.child_count(), 2 * theirs.size()) << path;
      size_t i = 0;
      for (const auto& kv : theirs) {
        expect_same(kv.first, ours.child(i), path + "/key" + std::to_string(i / 2));
        expect_same(kv.second, ours.child(i + 1), path + "/" + kv.first.Scalar());
        i += 2;
      }
      return;
    }
    default: ADD_FAILURE() << path << ": undefined node in yaml-cpp's tree";
  }
}

void expect_same_as_yaml_cpp(const std::string& text, const std::string& name) {
  const YamlTree ours = YamlTree::read(text);
  ASSERT_TRUE(ours.ok()) << name << ": " << ours.error;
  expect_same(YAML::Load(text), ours.root(), name);
}

TEST(YamlTree, ReadsTheExamplesAsYamlCppDoes) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(MESHPLANE_SOURCE_ROOT "/config/examples")) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    expect_same_as_yaml_cpp(ss.str(), e.path().filename().string());
    ++files;
  }
  EXPECT_GE(files, 3);
}

TEST(YamlTree, ReadsStylesAsYamlCppDoes) {
  expect_same_as_yaml_cpp(R"(# comment
a: 1
b: "two words"
c: 'single'
d: [x, "y", {e: f, g: [1, 2]}]
h:
  - i: |
      block
      text
    j: >
      folded
      text
  -   k: ~
      l:
      m: null
n: "null"
o: !!str 0x10
p: &anchor {q: r}
s: *anchor
)",
                          "styles");
}

TEST(YamlTree, NullForms) {
  const YamlTree t = YamlTree::read("a:\nb: ~\nc: NULL\nd: 'null'\ne: \"\"\n");
  ASSERT_TRUE(t.ok()) << t.error;
  const YamlNode root = t.root();
  ASSERT_EQ(root.child_count(), 10u);
  EXPECT_TRUE(root.child(1).is_null());
  EXPECT_EQ(root.child(1).mark().line, 1) << "an empty value is placed on its key's line";
  EXPECT_EQ(root.child(1).mark().column, 3);
  EXPECT_TRUE(root.child(3).is_null());
  EXPECT_TRUE(root.child(5).is_null());
  EXPECT_TRUE(root.child(7).is_scalar());  // quoted: a string
  EXPECT_EQ(root.child(7).scalar(), "null");
  EXPECT_TRUE(root.child(9).is_scalar());
  EXPECT_EQ(root.child(9).scalar(), "");
}

TEST(YamlTree, EmptyDocumentHasNoRoot) {
  const YamlTree t = YamlTree::read("# nothing here\n");
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_FALSE(t.root().defined());
  EXPECT_EQ(t.root().mark().line, 0);
}

TEST(YamlTree, SyntaxErrorsHavePositions) {
  const YamlTree t = YamlTree::read("a: 1\nb: [2, 3\nc: 4\n");
  EXPECT_FALSE(t.ok());
  EXPECT_NE(t.error.find("YAML syntax"), std::string::npos) << t.error;
  EXPECT_GE(t.error_mark.line, 2) << t.error;
  EXPECT_FALSE(t.root().defined());
}

TEST(YamlTree, SecondDocumentIsAnError) {
  const YamlTree t = YamlTree::read("a: 1\n---\nb: 2\n");
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.error_mark.line, 2) << t.error;
  EXPECT_NE(t.error.find("one YAML document"), std::string::npos) << t.error;
}

TEST(YamlTree, AliasesMustReferToAFinishedAnchor) {
  const YamlTree unknown = YamlTree::read("a: *nowhere\n");
  EXPECT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error_mark.line, 1);
  EXPECT_EQ(unknown.error_mark.column, 4);
  const YamlTree cycle = YamlTree::read("a: &self [1, *self]\n");
  EXPECT_FALSE(cycle.ok()) << "an alias inside its own anchor would make the tree a cycle";
}

// Limits: what no input can pass, each refused with the position where it
// was passed, before the work it would have cost.
TEST(YamlTree, NestingDeeperThanTheLimitIsRefusedWhereItStarts) {
  const YamlLimits limits{.max_bytes = 1u << 20, .max_depth = 4, .max_nodes = 1000};
  EXPECT_TRUE(YamlTree::read("a: [[[1]]]\n", limits).ok()) << "four levels: the map and three lists";
  const YamlTree t = YamlTree::read("a: [[[[1]]]]\n", limits);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.error_mark.line, 1);
  EXPECT_EQ(t.error_mark.column, 7);
  EXPECT_NE(t.error.find("nested more than 4 deep"), std::string::npos) << t.error;
  const YamlTree deep = YamlTree::read("a: " + std::string(200'000, '[') + std::string(200'000, ']'));
  EXPECT_NE(deep.error.find("nested more than 64 deep"), std::string::npos) << deep.error;
}

TEST(YamlTree, AliasesCountAsWhatTheyRepeat) {
  const YamlLimits limits{.max_bytes = 1u << 20, .max_depth = 64, .max_nodes = 1000};
  // Each level repeats the one before ten times: 10, 100, 1000, 10000 nodes to walk.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 4; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  const YamlTree t = YamlTree::read(text, limits);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.error_mark.line, 3) << "the level of 1000 nodes passes the limit with the earlier ones: " << t.error;
  EXPECT_NE(t.error.find("more than 1000 nodes"), std::string::npos) << t.error;
  EXPECT_TRUE(YamlTree::read("a0: &a0 [x, x]\nb: [*a0, *a0]\n", limits).ok());
}

TEST(YamlTree, ALargerDocumentThanTheLimitIsNotRead) {
  const YamlLimits limits{.max_bytes = 100, .max_depth = 64, .max_nodes = 1000};
  const YamlTree t = YamlTree::read("a: " + std::string(100, 'x') + "\n", limits);
  EXPECT_FALSE(t.ok());
  EXPECT_NE(t.error.find("the document is 104 bytes; a policy may be at most 100 bytes"), std::string::npos)
      << t.error;
}

TEST(YamlTree, ReadingStopsWhenTheCallerGivesUp) {
  std::string text = "a: [";
  for (int i = 0; i < 100'000; ++i) text += "1, ";
  text += "2]\n";
  int asked = 0;
  const YamlTree t = YamlTree::read(text, {}, [&] { return ++asked == 3; });
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(asked, 3);
  EXPECT_NE(t.error.find("gave up"), std::string::npos) << t.error;
  EXPECT_TRUE(YamlTree::read(text, {}, [] { return false; }).ok());
}

}  // namespace
}  // namespace meshplane::config
