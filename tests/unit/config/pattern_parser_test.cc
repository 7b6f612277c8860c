// Pattern sets: what parses, what Hyperscan refuses (at the pattern's line
// and column, with its reason), references from services and authorizations,
// the emitted policy reading back the same, and the compiler keeping an
// unchanged set's database and every name's counter slot.
#include "config/pattern_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "config/emitter.h"
#include "config/parser.h"
#include "config/pattern_validate.h"
#include "ctrl/compile/pattern_compiler.h"

namespace meshplane::config {
namespace {

const std::string kBase = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
services:
  - {name: web, vip: 10.30.0.10, inspect: guard, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.11}]}
)";  // 4 lines

const std::string kGuard = R"(pattern_sets:
  - name: guard
    inspect_bytes: 1024
    directions: client
    out_of_order: stop
    on_failure: block
    patterns:
      - {name: admin, regex: '^GET /admin', flags: [caseless, single_match], action: block}
      - {name: agent, literal: "curl/\x00\x01", action: tag, tag: clients}
      - {regex: 'union.+select', flags: dotall, action: alert}
)";  // lines 5-14

::testing::AssertionResult has(const ParseResult& r, int line, const std::string& text) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error on line " << line << " containing '" << text << "'; got:\n"
                                       << format(r.errors);
}

TEST(PatternParser, ReadsPatternSets) {
  const auto r = load_policy_text(kBase + kGuard, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.policy.pattern_sets.size(), 1u);
  const PatternSet& s = r.policy.pattern_sets[0];
  EXPECT_EQ(s.inspect_bytes, 1024u);
  EXPECT_TRUE(s.client);
  EXPECT_FALSE(s.server);
  EXPECT_FALSE(s.hold_out_of_order);
  EXPECT_TRUE(s.fail_closed);
  ASSERT_EQ(s.patterns.size(), 3u);
  EXPECT_TRUE(s.patterns[0].caseless && s.patterns[0].single_match && !s.patterns[0].dotall);
  EXPECT_TRUE(start_anchored(s.patterns[0]));
  EXPECT_EQ(s.patterns[1].expression, std::string("curl/\0\x01", 7));
  EXPECT_EQ(hyperscan_expression(s.patterns[1]), "\\x63\\x75\\x72\\x6c\\x2f\\x00\\x01");
  EXPECT_FALSE(start_anchored(s.patterns[1]));
  EXPECT_EQ(s.patterns[1].tag, "clients");
  EXPECT_EQ(s.patterns[2].name, "pattern-3");
  EXPECT_EQ(r.policy.services[0].inspect, "guard");
}

TEST(PatternParser, EmittedPolicyReadsBackTheSame) {
  const auto r = load_policy_text(kBase + kGuard, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const auto again = load_policy_text(to_yaml(r.policy), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.message << "\n" << to_yaml(r.policy);
  EXPECT_EQ(again.policy.pattern_sets, r.policy.pattern_sets);
  EXPECT_EQ(again.policy.services, r.policy.services);
}

TEST(PatternParser, AnchoringSeesThroughLeadingOptions) {
  Pattern p;
  for (const auto& [e, anchored] : {std::pair{"(?i)^GET", true}, {"\\Afoo", true}, {"a^b", false}, {"(?s)x", false}}) {
    p.expression = e;
    EXPECT_EQ(start_anchored(p), anchored) << e;
  }
  p.expression = "^GET";
  p.multiline = true;
  EXPECT_FALSE(start_anchored(p)) << "multiline: ^ matches after any newline";
}

TEST(PatternParser, HyperscanRefusalsCarryThePatternsPosition) {
  const auto r = load_policy_text(kBase + R"(pattern_sets:
  - name: guard
    patterns:
      - {name: open, regex: 'a(b', action: block}
      - {name: backref, regex: '(a)\1', action: alert}
      - {name: empty, regex: 'x*', action: alert}
      - {name: del, literal: "a\x7f", action: alert}
)", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 8, "pattern 'open' of set 'guard': Hyperscan refuses it: Missing close parenthesis"));
  EXPECT_TRUE(has(r, 9, "Hyperscan refuses it"));
  EXPECT_TRUE(has(r, 10, "matches the empty string"));
  EXPECT_TRUE(has(r, 11, "cannot hold the byte 0x7f"));
  for (const auto& d : r.errors) EXPECT_GT(d.mark.column, 1) << "at the expression itself";
}

TEST(PatternParser, StructureAndReferencesAreChecked) {
  const auto r = load_policy_text(R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
services:
  - {name: web, vip: 10.30.0.10, inspect: nope, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.11}]}
  - {name: dr, vip: 10.30.0.11, mode: direct_return, inspect: guard, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.12}]}
authorization:
  - service: web
    rules:
      - {name: no, action: deny, inspect: guard}
pattern_sets:
  - name: guard
    patterns:
      - {name: both, regex: 'a', literal: 'b', action: block}
      - {name: dup, regex: 'a', action: alert}
      - {name: dup, regex: 'b', action: alert, tag: t}
  - name: guard
    patterns: []
)", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 4, "no such set"));
  EXPECT_TRUE(has(r, 5, "direct return"));
  EXPECT_TRUE(has(r, 9, "only an allow rule"));
  EXPECT_TRUE(has(r, 13, "exactly one of 'regex' and 'literal'"));
  EXPECT_TRUE(has(r, 15, "'tag' goes with action: tag"));
  EXPECT_TRUE(has(r, 15, "used twice in set 'guard'"));
  EXPECT_TRUE(has(r, 16, "defined twice"));
  EXPECT_TRUE(has(r, 17, "at least one pattern"));
}

TEST(PatternParser, AnUnusedSetIsAWarning) {
  const auto r = load_policy_text(R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
pattern_sets:
  - {name: idle, patterns: [{regex: 'x', action: alert}]}
)", "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("not used"), std::string::npos);
}

TEST(PatternCompiler, UnchangedSetsKeepTheirDatabaseAndNamesKeepTheirSlots) {
  auto first = load_policy_text(kBase + kGuard + R"(  - name: other
    patterns: [{name: x, regex: 'xyz', action: alert}]
)", "p.yaml");
  ASSERT_TRUE(first.ok()) << first.message;
  std::shared_ptr<const ctrl::PatternLibrary> a, b, c;
  ASSERT_TRUE(ctrl::compile_patterns(first.policy, nullptr, 2, a).ok());
  ASSERT_EQ(a->scratch.size(), 2u) << "one scratch per worker";
  EXPECT_EQ(a->slot1("guard"), 1u);
  EXPECT_EQ(a->slot1("other"), 2u);
  EXPECT_GT(a->sets[0]->stream_bytes, 0u);

  Policy changed = first.policy;
  changed.pattern_sets[1].patterns[0].expression = "abc";
  ASSERT_TRUE(ctrl::compile_patterns(changed, a.get(), 2, b).ok());
  EXPECT_EQ(b->sets[0], a->sets[0]) << "guard did not change: same database";
  EXPECT_NE(b->sets[1]->id, a->sets[1]->id) << "other changed: a new database";
  EXPECT_EQ(b->pattern_slots.at("other/x"), a->pattern_slots.at("other/x")) << "same name, same counters";

  Policy removed = changed;
  removed.pattern_sets.erase(removed.pattern_sets.begin());
  ASSERT_TRUE(ctrl::compile_patterns(removed, b.get(), 2, c).ok());
  EXPECT_EQ(c->slot1("guard"), 0u) << "gone from the policy";
  EXPECT_EQ(c->slot1("other"), 2u) << "other keeps its slot";
  EXPECT_EQ(c->set_slots.at("guard"), 0u) << "and guard's slot stays reserved for its name";
}

TEST(PatternCompiler, SetsCompiledAheadByAnotherThreadAreTakenFromTheCache) {
  const auto r = load_policy_text(kBase + kGuard, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ctrl::PatternCache cache;
  std::thread api([&] { cache.prepare(r.policy); });  // as the API thread does before queueing a document
  api.join();
  const auto ahead = cache.find(r.policy.pattern_sets[0]);
  ASSERT_NE(ahead, nullptr);
  std::shared_ptr<const ctrl::PatternLibrary> lib;
  ASSERT_TRUE(ctrl::compile_patterns(r.policy, nullptr, 1, lib, &cache).ok());
  EXPECT_EQ(lib->sets[0], ahead) << "not compiled again";
  Policy other = r.policy;
  other.pattern_sets[0].patterns[0].expression = "^POST /admin";
  EXPECT_EQ(cache.find(other.pattern_sets[0]), nullptr) << "a different definition is not a hit";
}

}  // namespace
}  // namespace meshplane::config
