// Identities and authorization: what parses, what is refused with its
// position (unknown services, identities and peers; identities that a peer
// would have to speak for), and that emitted policy reads back the same.
#include "config/authz_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "config/emitter.h"
#include "config/parser.h"
#include "config/peer_parser.h"

namespace meshplane::config {
namespace {

const std::string kBase = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
  - {name: wan, device: d1, addresses: [192.0.2.1/24]}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.11}]}
peers:
  - name: site-b
    address: 192.0.2.2
    local_address: 192.0.2.1
    prefixes: [10.2.0.0/16]
    identity: spiffe://mesh.example/gateway/gw-b
    sas:
      - {direction: outbound, spi: 0x1001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
      - {direction: inbound, spi: 0x2001, key: 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4}
)";  // 14 lines

::testing::AssertionResult has(const ParseResult& r, int line, const std::string& text) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error on line " << line << " containing '" << text << "'; got:\n"
                                       << format(r.errors);
}

TEST(AuthzParser, ReadsIdentitiesAndAuthorization) {
  const auto r = load_policy_text(kBase + R"(identities:
  - {name: spiffe://mesh.example/ns/shop/sa/web, prefixes: [10.2.1.0/24], peer: site-b}
  - {name: office, prefixes: 10.1.0.64/26}
authorization:
  - service: web
    default: deny
    rules:
      - name: shop
        action: allow
        from: {identities: [spiffe://mesh.example/ns/shop/sa/web, spiffe://mesh.example/gateway/gw-b]}
        to: {ports: [80], protocols: tcp}
      - {name: no-lab, action: deny, from: {prefixes: [10.1.0.96/27]}}
      - {action: audit, from: {identities: office}}
)", "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.policy.identities.size(), 2u);
  EXPECT_EQ(r.policy.identities[0].peer, "site-b");
  EXPECT_EQ(r.policy.peers[0].identity, "spiffe://mesh.example/gateway/gw-b");
  ASSERT_EQ(r.policy.authorization.size(), 1u);
  const Authorization& a = r.policy.authorization[0];
  EXPECT_EQ(a.default_action, AuthzAction::kDeny);
  ASSERT_EQ(a.rules.size(), 3u);
  EXPECT_EQ(a.rules[0].identities.size(), 2u);
  EXPECT_EQ(a.rules[0].ports, (std::vector<PortRange>{{80, 80}}));
  EXPECT_EQ(a.rules[0].protocols, std::vector<Protocol>{Protocol::kTcp});
  EXPECT_EQ(a.rules[1].action, AuthzAction::kDeny);
  EXPECT_EQ(a.rules[2].name, "rule-3");
  EXPECT_EQ(a.rules[2].action, AuthzAction::kAudit);
  std::string emitted = to_yaml(r.policy);
  for (size_t at; (at = emitted.find(kHiddenKey)) != std::string::npos;)  // keys never come out: give them again
    emitted.replace(at, std::string(kHiddenKey).size(), "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4");
  const auto again = load_policy_text(emitted, "emitted.yaml");
  ASSERT_TRUE(again.ok()) << again.message << emitted;
  EXPECT_EQ(again.policy.identities, r.policy.identities);
  EXPECT_EQ(again.policy.authorization, r.policy.authorization);
  EXPECT_EQ(again.policy.peers[0].identity, r.policy.peers[0].identity);
}

TEST(AuthzParser, RefusesWhatCannotBeTrustedOrFound) {
  const auto r = load_policy_text(kBase + R"(identities:
  - {name: outside, prefixes: [10.2.5.0/24]}
  - {name: far, prefixes: [10.9.0.0/16], peer: site-b}
  - {name: ghost, prefixes: [10.1.0.0/24], peer: site-z}
  - {name: outside, prefixes: [10.1.0.0/28]}
authorization:
  - {service: api, rules: []}
  - service: web
    rules:
      - {action: allow, from: {identities: [nobody]}}
      - {name: twice, action: allow}
      - {name: twice, action: deny}
      - {action: maybe}
  - {service: web, default: allow}
)", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 16, "10.2.5.0/24 lies behind peer 'site-b': add 'peer: site-b'"));
  EXPECT_TRUE(has(r, 17, "10.9.0.0/16 is not behind peer 'site-b'"));
  EXPECT_TRUE(has(r, 18, "peer 'site-z' is not in this policy"));
  EXPECT_TRUE(has(r, 19, "identity 'outside' is listed twice"));
  EXPECT_TRUE(has(r, 21, "authorization for service 'api': no such service"));
  EXPECT_TRUE(has(r, 24, "identity 'nobody' is neither in 'identities' nor a peer's identity"));
  EXPECT_TRUE(has(r, 26, "'twice' is used twice"));
  EXPECT_TRUE(has(r, 27, "is not one of 'allow', 'deny', 'audit'"));
  EXPECT_TRUE(has(r, 28, "service 'web' has a second authorization"));
}

TEST(AuthzParser, ReadsDestinationsAndEmitsThemBack) {
  const auto r = load_policy_text(kBase + R"(authorization:
  - name: admin
    destinations: [10.1.0.0/24, 10.1.9.9/32]
    default: deny
    rules:
      - {name: ops, action: allow, from: {identities: [spiffe://mesh.example/gateway/gw-b]}, to: {ports: [22]}}
)", "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const Authorization& a = r.policy.authorization.at(0);
  EXPECT_FALSE(a.for_service());
  EXPECT_EQ(a.name, "admin");
  EXPECT_EQ(a.label(), "destination 'admin'");
  ASSERT_EQ(a.destinations.size(), 2u);
  EXPECT_EQ(a.destinations[1].length, 32);
  std::string emitted = to_yaml(r.policy);
  for (size_t at; (at = emitted.find(kHiddenKey)) != std::string::npos;)
    emitted.replace(at, std::string(kHiddenKey).size(), "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4");
  const auto again = load_policy_text(emitted, "emitted.yaml");
  ASSERT_TRUE(again.ok()) << again.message << emitted;
  EXPECT_EQ(again.policy.authorization.at(0).name, a.name);
  EXPECT_EQ(again.policy.authorization.at(0).destinations, a.destinations);
}

TEST(AuthzParser, RefusesDestinationsThatAreAmbiguous) {
  const auto r = load_policy_text(kBase + R"(authorization:
  - {service: web, destinations: [10.1.0.0/24]}
  - {default: deny}
  - {destinations: [10.1.0.0/24]}
  - {name: a, destinations: [10.1.0.0/24]}
  - {name: a, destinations: [10.1.0.0/24, 10.1.1.0/24]}
  - {service: web, name: w}
)", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 16, "for a service or for destinations, not both"));
  EXPECT_TRUE(has(r, 17, "needs 'service' (connections to its VIP) or 'destinations'"));
  EXPECT_TRUE(has(r, 18, "an authorization for destinations needs a 'name'"));
  EXPECT_TRUE(has(r, 20, "a second authorization is named 'a'"));
  EXPECT_TRUE(has(r, 20, "destination 10.1.0.0/24 is already authorized by 'a'"));
  EXPECT_TRUE(has(r, 21, "named by its service: no 'name'"));
}

}  // namespace
}  // namespace meshplane::config
