// Access rules: what parses, what is refused with its position, the
// warnings for rules that can never match or that an earlier rule partly
// decides the other way, and that emitted policy reads back the same.
#include "config/access_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "config/access_validate.h"
#include "config/emitter.h"
#include "config/parser.h"

namespace meshplane::config {
namespace {

const std::string kPorts = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
  - {name: wan, device: d1, addresses: [192.0.2.1/24]}
)";

std::string access(const std::string& rules, const std::string& head = "") {
  return kPorts + "access:\n" + head + "  rules:\n" + rules;
}

::testing::AssertionResult has(const std::vector<Diagnostic>& ds, int line, const std::string& text) {
  for (const auto& d : ds)
    if (d.mark.line == line && d.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "nothing on line " << line << " containing '" << text << "'; got:\n"
                                       << format(ds);
}

TEST(AccessParser, ReadsEveryField) {
  const auto r = load_policy_text(access(R"(    - name: telnet
      action: reject
      protocol: tcp
      source: [10.1.0.0/16, 10.3.0.7]
      destination: 10.2.0.0/24
      source_ports: 1024-65535
      destination_ports: [23, 2323]
      ingress: lan
      log: true
    - {action: deny, protocol: icmp, icmp_type: 8}
    - {action: allow, protocol: 47}
)", "  default: deny\n  log_per_second: 5\n"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const AccessPolicy& a = r.policy.access;
  EXPECT_EQ(a.default_action, AccessAction::kDeny);
  EXPECT_EQ(a.log_per_second, 5u);
  ASSERT_EQ(a.rules.size(), 3u);
  const AccessRule& t = a.rules[0];
  EXPECT_EQ(t.name, "telnet");
  EXPECT_EQ(t.action, AccessAction::kReject);
  EXPECT_EQ(t.protocol, 6);
  ASSERT_EQ(t.sources.size(), 2u);
  EXPECT_EQ(t.sources[1].length, 32);  // a bare address is its /32
  EXPECT_EQ(t.sources[1].address, 0x0a030007u);
  ASSERT_EQ(t.destinations.size(), 1u);
  EXPECT_EQ(t.source_ports, (std::vector<PortRange>{{1024, 65535}}));
  EXPECT_EQ(t.destination_ports, (std::vector<PortRange>{{23, 23}, {2323, 2323}}));
  EXPECT_EQ(t.ingress, "lan");
  EXPECT_TRUE(t.log);
  EXPECT_EQ(t.mark.line, 8);  // after the ports (3 lines), access:, default, log_per_second, rules:
  EXPECT_EQ(a.rules[1].name, "rule-2");  // unnamed rules are named by place
  EXPECT_EQ(a.rules[1].icmp_type, 8);
  EXPECT_EQ(a.rules[2].protocol, 47);
  EXPECT_EQ(access_entries(t), 2u * 1 * 1 * 2);
}

TEST(AccessParser, RefusesBadRulesWithTheirPositions) {
  const auto r = load_policy_text(access(R"(    - {action: allow, protocol: tcp, destination_ports: 90-80}
    - {action: maybe}
    - {action: allow, destination_ports: 80}
    - {action: allow, protocol: udp, icmp_type: 3}
    - {action: allow, ingress: dmz}
    - {action: allow, source: 10.0.0.0/33}
    - {action: allow, protocol: gre}
    - {name: twice, action: allow, protocol: 1}
    - {name: twice, action: allow, protocol: 2}
    - {protocol: tcp}
)"), "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.errors, 6, "runs backwards"));
  EXPECT_TRUE(has(r.errors, 7, "is not one of 'allow', 'deny', 'reject'"));
  EXPECT_TRUE(has(r.errors, 8, "needs protocol tcp or udp"));
  EXPECT_TRUE(has(r.errors, 9, "needs protocol icmp"));
  EXPECT_TRUE(has(r.errors, 10, "ingress 'dmz' is not a port"));
  EXPECT_TRUE(has(r.errors, 11, "not an IPv4 prefix"));
  EXPECT_TRUE(has(r.errors, 12, "tcp, udp, icmp, any or a number"));
  EXPECT_TRUE(has(r.errors, 14, "'twice' is used twice"));
  EXPECT_TRUE(has(r.errors, 15, "missing required key 'action'"));
}

TEST(AccessParser, WarnsOfRulesThatCanNeverMatch) {
  const auto r = load_policy_text(access(R"(    - {name: web, action: allow, protocol: tcp, destination: 10.2.0.0/16, destination_ports: 1-1024}
    - {name: https, action: deny, protocol: tcp, destination: 10.2.3.0/24, destination_ports: 443}
    - {name: broad, action: deny, destination: 10.0.0.0/8}
    - {name: mixed, action: allow, protocol: udp, destination: [10.2.0.0/16, 172.16.0.0/12]}
    - {name: fine, action: allow, protocol: tcp, destination: 192.168.0.0/16}
)"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  // 'https' lies wholly inside 'web'.
  EXPECT_TRUE(has(r.warnings, 7, "'https' can never match: rule 'web' (line 6)"));
  // 'broad' covers 'web' (an exception first, then the rule): no warning.
  EXPECT_FALSE(has(r.warnings, 8, "broad"));
  // Half of 'mixed' (10.2.0.0/16) lies inside 'broad', which denies it; the other half is its own.
  EXPECT_TRUE(has(r.warnings, 9, "'mixed' (allow) partly overlaps rule 'broad' (deny, line 8)"));
  EXPECT_EQ(r.warnings.size(), 2u) << format(r.warnings);
}

TEST(AccessParser, WarnsOfAPartialOverlapDecidedTheOtherWay) {
  const auto r = load_policy_text(access(R"(    - {name: lab, action: deny, source: 10.1.0.0/16}
    - {name: ssh, action: allow, protocol: tcp, destination_ports: 22}
)"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(has(r.warnings, 7, "'ssh' (allow) partly overlaps rule 'lab' (deny, line 6)"));
  EXPECT_NE(format(r.warnings).find("p.yaml:7:7: warning:"), std::string::npos) << format(r.warnings);
}

TEST(AccessParser, EmittedRulesReadBackTheSame) {
  const auto r = load_policy_text(access(R"(    - {name: a, action: reject, protocol: tcp, source: [10.1.0.0/16], destination_ports: [22, 8000-8080], ingress: wan, log: true}
    - {name: b, action: deny, protocol: icmp, icmp_type: 8}
    - {name: c, action: allow, protocol: 50}
)", "  default: deny\n"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const auto again = load_policy_text(to_yaml(r.policy), "emitted.yaml");
  ASSERT_TRUE(again.ok()) << again.message << to_yaml(r.policy);
  EXPECT_EQ(again.policy.access, r.policy.access);
}

TEST(AccessParser, LimitsTheClassifierEntriesARuleSetExpandsTo) {
  std::string many = "    - {action: allow, protocol: tcp, source: [";
  for (int i = 0; i < 512; ++i) many += (i ? ", " : "") + std::string("10.0.") + std::to_string(i / 256) + "." +
                                        std::to_string(i % 256);
  many += "], destination_ports: [";
  for (int i = 0; i < 600; ++i) many += (i ? ", " : "") + std::to_string(i + 1);
  many += "]}\n";
  const auto r = load_policy_text(access(many), "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.errors, 6, "more than 262144 classifier entries"));
}

}  // namespace
}  // namespace meshplane::config
