// `meshctl explain` from a compiled snapshot: the ingress port found from
// the source's route (or a tunnel's peer), the access rule that decides (by
// the workers' classifier), the service that balances, the route out.
#include "ctrl/api/explain.h"

#include <gtest/gtest.h>

#include "config/parser.h"
#include "ctrl/compile/snapshot_compiler.h"

namespace meshplane::ctrl {
namespace {

const char* kPolicy = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
  - {name: wan, device: d1, addresses: [192.0.2.1/24]}
routes:
  - {prefix: 10.9.0.0/16, via: 10.1.0.254}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80, target_port: 8080}],
     endpoints: [{address: 10.1.0.11}, {address: 10.1.0.12}]}
peers:
  - name: site-b
    address: 192.0.2.2
    local_address: 192.0.2.1
    prefixes: [10.2.0.0/16]
    sas:
      - {direction: outbound, spi: 0x1001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
      - {direction: inbound, spi: 0x2001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
access:
  rules:
    - {name: no-telnet, action: reject, protocol: tcp, destination_ports: 23}
    - {name: site-b-web-only, action: allow, source: 10.2.0.0/16, destination: 10.30.0.10}
    - {name: site-b-nothing-else, action: deny, source: 10.2.0.0/16, ingress: wan}
)";

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override { load(kPolicy); }
  void load(const std::string& text) {
    auto parsed = config::load_policy_text(text, "p.yaml");
    ASSERT_TRUE(parsed.ok()) << parsed.message;
    policy_ = parsed.policy;
    auto c = compile_snapshot(policy_, {{0, {}}, {1, {}}}, 1);
    ASSERT_TRUE(c.ok()) << c.message;
    snapshot_ = std::move(c.snapshot);
  }
  Explanation ask(ExplainQuery q) { return explain(q, policy_, *snapshot_); }
  static bool says(const Explanation& e, const std::string& text) {
    for (const auto& s : e.steps)
      if (s.find(text) != std::string::npos) return true;
    return false;
  }

  config::Policy policy_;
  std::unique_ptr<CompiledSnapshot> snapshot_;
};

TEST_F(ExplainTest, ForwardedTrafficNamesItsRouteAndTheDefault) {
  const auto e = ask({"10.1.0.5", "10.9.1.1", "udp", 5000, 53});
  ASSERT_TRUE(e.ok()) << e.message;
  EXPECT_EQ(e.verdict, "forwarded");
  EXPECT_TRUE(says(e, "ingress: port lan"));
  EXPECT_TRUE(says(e, "no rule matches (3 rules); the default decides: allow"));
  EXPECT_TRUE(says(e, "route: via 10.1.0.254 on port lan"));
}

TEST_F(ExplainTest, TheFirstMatchingRuleDecides) {
  auto e = ask({"10.1.0.5", "10.1.0.11", "tcp", 40000, 23});
  EXPECT_EQ(e.verdict, "rejected");
  EXPECT_TRUE(says(e, "rule 'no-telnet' (line 19: tcp to port 23) decides: reject"));
  e = ask({"10.2.3.4", "10.30.0.10", "tcp", 40000, 80});
  EXPECT_EQ(e.verdict, "balanced");
  EXPECT_TRUE(says(e, "ingress: port wan, decrypted from peer 'site-b'"));
  EXPECT_TRUE(says(e, "rule 'site-b-web-only'"));
  EXPECT_TRUE(says(e, "service 'web' port 80 -> one of 2 endpoints, target port 8080 (NAT)"));
  e = ask({"10.2.3.4", "10.1.0.11", "tcp", 40000, 22});
  EXPECT_EQ(e.verdict, "denied");
  EXPECT_TRUE(says(e, "rule 'site-b-nothing-else'"));
}

TEST_F(ExplainTest, TheIngressPortCanBeGivenAndMatters) {
  const auto e = ask({"10.2.3.4", "10.1.0.11", "tcp", 40000, 22, 8, "lan"});
  EXPECT_EQ(e.verdict, "forwarded");  // the deny rule is for traffic entering on wan
  EXPECT_TRUE(says(e, "route: on port lan (connected)"));
  EXPECT_TRUE(ask({"10.1.0.5", "10.2.0.9", "icmp"}).verdict == "forwarded");
  EXPECT_TRUE(says(ask({"10.1.0.5", "10.2.0.9", "icmp"}), "into the tunnel to peer 'site-b' (ESP)"));
}

TEST_F(ExplainTest, AuthorizationNamesWhoTheClientIsOrWhoItIsAskedAs) {
  load(std::string(kPolicy) + R"(identities:
  - {name: spiffe://mesh.example/ns/b/sa/api, prefixes: [10.2.3.0/24], peer: site-b}
authorization:
  - service: web
    default: deny
    rules:
      - {name: api-only, action: allow, from: {identities: [spiffe://mesh.example/ns/b/sa/api]}}
)");
  auto e = ask({"10.2.3.4", "10.30.0.10", "tcp", 40000, 80});
  EXPECT_EQ(e.verdict, "balanced");
  EXPECT_TRUE(says(e, "identity spiffe://mesh.example/ns/b/sa/api, over peer 'site-b'; rule 'api-only'"));
  e = ask({"10.2.9.9", "10.30.0.10", "tcp", 40000, 80});
  EXPECT_EQ(e.verdict, "denied");
  EXPECT_TRUE(says(e, "no mapped identity, over peer 'site-b'; no allow or deny rule matches; the default decides: deny"));
  ExplainQuery as{"10.2.9.9", "10.30.0.10", "tcp", 40000, 80};
  as.identity = "spiffe://mesh.example/ns/b/sa/api";
  EXPECT_EQ(ask(as).verdict, "balanced");
  as.identity = "spiffe://elsewhere";
  e = ask(as);
  EXPECT_EQ(e.verdict, "denied");
  EXPECT_TRUE(says(e, "an identity no rule names (as asked)"));
}

TEST_F(ExplainTest, ARoutedDestinationsAuthorizationDecidesBeforeTheRoute) {
  load(std::string(kPolicy) + R"(authorization:
  - name: lab
    destinations: [10.9.0.0/16]
    default: deny
    rules:
      - {name: dns, action: allow, from: {prefixes: [10.1.0.0/24]}, to: {ports: [53], protocols: [udp]}}
)");
  auto e = ask({"10.1.0.5", "10.9.1.1", "udp", 5000, 53});
  EXPECT_EQ(e.verdict, "forwarded");
  EXPECT_TRUE(says(e, "authorization of destination 'lab': no mapped identity; rule 'dns'"));
  e = ask({"10.1.0.5", "10.9.1.1", "tcp", 5000, 22});
  EXPECT_EQ(e.verdict, "denied");
  EXPECT_TRUE(says(e, "authorization of destination 'lab': no mapped identity; no allow or deny rule matches; the "
                      "default decides: deny"));
  EXPECT_EQ(ask({"10.1.0.5", "10.9.1.1", "icmp"}).verdict, "denied") << "no ports: the udp rule does not match";
  EXPECT_EQ(ask({"10.1.0.5", "10.2.0.9", "icmp"}).verdict, "forwarded") << "another destination: not asked";
}

TEST_F(ExplainTest, AConnectionsPatternSetIsTheRulesElseTheServices) {
  std::string text = kPolicy;
  text.replace(text.find("{name: web, vip: 10.30.0.10,"), 29, "{name: web, vip: 10.30.0.10, inspect: guard,");
  load(text + R"(identities:
  - {name: lab, prefixes: [10.1.0.64/26]}
authorization:
  - service: web
    rules:
      - {name: lab, action: allow, from: {identities: [lab]}, inspect: strict}
pattern_sets:
  - {name: guard, patterns: [{regex: 'a', action: alert}]}
  - {name: strict, inspect_bytes: 99, directions: client, patterns: [{regex: 'b', action: block}, {regex: 'c', action: tag}]}
)");
  auto e = ask({"10.1.0.5", "10.30.0.10", "tcp", 40000, 80});
  EXPECT_TRUE(says(e, "payload: inspected with pattern set 'guard' (1 patterns) over the first 4096 bytes of each "
                      "direction"));
  e = ask({"10.1.0.70", "10.30.0.10", "tcp", 40000, 80});
  EXPECT_TRUE(says(e, "pattern set 'strict' (2 patterns) over the first 99 bytes of the client's direction"));
  EXPECT_FALSE(says(ask({"10.1.0.5", "10.9.1.1", "tcp", 40000, 80}), "payload")) << "routed, no set";
}

TEST_F(ExplainTest, BadQuestionsAreRefused) {
  EXPECT_NE(ask({"10.1.0", "10.1.0.11"}).message.find("source '10.1.0' is not an IPv4 address"), std::string::npos);
  EXPECT_NE(ask({"10.1.0.5", "10.1.0.11", "gre"}).message.find("protocol must be"), std::string::npos);
  EXPECT_NE(ask({"10.1.0.5", "10.1.0.11", "tcp", 1, 2, 8, "dmz"}).message.find("'dmz' is not a port"),
            std::string::npos);
  EXPECT_NE(ask({"172.16.0.1", "10.1.0.11"}).message.find("no route back to 172.16.0.1"), std::string::npos);
}

}  // namespace
}  // namespace meshplane::ctrl
