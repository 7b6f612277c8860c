#include "config/parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <tuple>

#include "config/address.h"
#include "config/emitter.h"
#include "config/peer_parser.h"

namespace meshplane::config {
namespace {

constexpr const char* kValid = R"(node: gw
ports:
  - name: a
    device: net_null0
    addresses: [10.0.1.1/24, 10.0.9.1/24]
    mac: 02:00:00:00:00:0a
  - name: b
    device: net_null1
    addresses: [10.0.2.1/24]
    mtu: 9000
routes:
  - prefix: 10.20.0.0/16
    via: 10.0.2.2
neighbours:
  - address: 10.0.2.2
    mac: 02:00:00:00:00:22
    port: b
)";

// Errors carry file:line:column; find the one at a position.
const Diagnostic* at(const ParseResult& r, int line, int column) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.mark.column == column) return &d;
  return nullptr;
}

TEST(Parser, ValidDocumentBuildsModel) {
  auto r = load_policy_text(kValid, "p.yaml");
  ASSERT_TRUE(r.ok()) << format(r.errors);
  ASSERT_EQ(r.policy.ports.size(), 2u);
  EXPECT_EQ(r.policy.ports[0].addresses[1].address, *parse_ipv4("10.0.9.1"));
  EXPECT_EQ(r.policy.ports[0].addresses[1].length, 24);
  EXPECT_EQ(r.policy.ports[0].mac->at(5), 0x0a);
  EXPECT_EQ(r.policy.ports[0].mtu, 1500);
  EXPECT_EQ(r.policy.ports[1].mtu, 9000);
  ASSERT_EQ(r.policy.routes.size(), 1u);
  EXPECT_EQ(r.policy.routes[0].via, *parse_ipv4("10.0.2.2"));
  EXPECT_EQ(r.policy.neighbours[0].port, "b");
}

TEST(Parser, ReportsEveryErrorWithLineAndColumn) {
  const char* text = R"(ports:
  - name: a
    device: net_null0
    addresses: [10.0.1.1/24]
    mtu: 12
    colour: red
  - name: a
    device: net_null1
    addresses: [10.0.1.300/24]
routes:
  - prefix: 10.20.0.1/16
    via: 172.16.0.1
)";
  auto r = load_policy_text(text, "bad.yaml");
  ASSERT_FALSE(r.ok());
  const Diagnostic* mtu = at(r, 5, 10);
  ASSERT_NE(mtu, nullptr) << format(r.errors);
  EXPECT_NE(mtu->message.find("mtu"), std::string::npos);
  ASSERT_NE(at(r, 6, 5), nullptr) << format(r.errors);
  EXPECT_NE(at(r, 6, 5)->message.find("unknown key 'colour'"), std::string::npos);
  ASSERT_NE(at(r, 7, 5), nullptr) << format(r.errors);
  EXPECT_NE(at(r, 7, 5)->message.find("duplicate port name 'a'"), std::string::npos);
  ASSERT_NE(at(r, 9, 17), nullptr) << format(r.errors);
  ASSERT_NE(at(r, 11, 13), nullptr) << format(r.errors);
  EXPECT_NE(at(r, 11, 13)->message.find("did you mean 10.20.0.0/16"), std::string::npos);
  ASSERT_NE(at(r, 12, 10), nullptr) << format(r.errors);
  EXPECT_EQ(format(*at(r, 12, 10)).rfind("bad.yaml:12:10: error: ", 0), 0u);
}

TEST(Parser, SuggestsCloseKeys) {
  auto r = load_policy_text("ports:\n  - name: a\n    device: d\n    adresses: [10.0.0.1/24]\n", "f");
  ASSERT_NE(at(r, 4, 5), nullptr) << format(r.errors);
  EXPECT_NE(at(r, 4, 5)->message.find("did you mean 'addresses'"), std::string::npos);
}

TEST(Parser, SyntaxErrorHasPosition) {
  auto r = load_policy_text("ports:\n  - name: [a\n", "f");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_GT(r.errors[0].mark.line, 1);
  EXPECT_NE(r.errors[0].message.find("YAML syntax"), std::string::npos);
}

// One mistake, one message: a missing or empty port list, or a document
// that is not a mapping, is reported once (validation adds nothing).
TEST(Parser, MissingOrEmptyPortsIsOneError) {
  for (const char* text : {"node: x\n", "", "ports: []\n", "- a\n"}) {
    const auto r = load_policy_text(text, "p.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << "for '" << text << "':\n" << format(r.errors);
  }
  const auto empty = load_policy_text("node: x\nports: []\n", "p.yaml");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_EQ(empty.errors[0].mark.line, 2);
  EXPECT_NE(empty.errors[0].message.find("at least one port"), std::string::npos);
}

TEST(Parser, DuplicateKeysAreErrors) {
  auto r = load_policy_text("ports: []\nports: []\n", "f");
  ASSERT_NE(at(r, 2, 1), nullptr) << format(r.errors);
}

TEST(Parser, RouteNextHopMustBeConnected) {
  auto r = load_policy_text(
      "ports:\n  - {name: a, device: d, addresses: [10.0.1.1/24]}\nroutes:\n  - {prefix: 0.0.0.0/0, via: 10.0.1.1}\n",
      "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(format(r.errors).find("own address"), std::string::npos) << format(r.errors);
}

TEST(Parser, EmptyAddressListIsAnErrorButABadOneIsNotReportedTwice) {
  auto empty = load_policy_text("ports:\n  - {name: a, device: d, addresses: []}\n", "f");
  ASSERT_EQ(empty.errors.size(), 1u) << format(empty.errors);
  EXPECT_NE(empty.errors[0].message.find("needs at least one address"), std::string::npos);
  auto scalar = load_policy_text("ports:\n  - {name: a, device: d, addresses: 10.0.0.1/24}\n", "f");
  ASSERT_EQ(scalar.errors.size(), 1u) << format(scalar.errors);
  EXPECT_NE(scalar.errors[0].message.find("must be a list"), std::string::npos);
}

TEST(Parser, ApiSocketMustBeAbsolute) {
  auto r = load_policy_text("ports:\n  - {name: a, device: d, addresses: [10.0.1.1/24]}\napi: {socket: run/x.sock}\n", "f");
  ASSERT_EQ(r.errors.size(), 1u) << format(r.errors);
  EXPECT_EQ(r.errors[0].mark.line, 3);
  EXPECT_NE(r.errors[0].message.find("absolute path"), std::string::npos);
  auto ok = load_policy_text("ports:\n  - {name: a, device: d, addresses: [10.0.1.1/24]}\napi: {socket: /run/x.sock}\n", "f");
  ASSERT_TRUE(ok.ok()) << format(ok.errors);
  EXPECT_EQ(ok.policy.api.socket, "/run/x.sock");
}

TEST(Parser, MissingFileIsAnError) {
  auto r = load_policy_file("/nonexistent/policy.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot open"), std::string::npos);
}

TEST(Parser, EveryExampleLoads) {
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(MESHPLANE_SOURCE_ROOT "/config/examples")) {
    if (e.path().extension() != ".yaml") continue;
    auto r = load_policy_file(e.path());
    EXPECT_TRUE(r.ok()) << format(r.errors);
    ++seen;
  }
  EXPECT_GT(seen, 0);
}

// Every example survives emit -> parse: the same policy comes back (compared
// through a second emit, which leaves out positions).
TEST(Emitter, RoundTripsEveryExample) {
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(MESHPLANE_SOURCE_ROOT "/config/examples")) {
    if (e.path().extension() != ".yaml") continue;
    auto original = load_policy_file(e.path());
    ASSERT_TRUE(original.ok()) << format(original.errors);
    const std::string shown = to_yaml(original.policy);
    std::string text = shown;
    // Inline keys are shown hidden (peer_parser_test checks that); give them back to apply the text again.
    for (const auto& peer : original.policy.peers)
      for (const auto& sa : peer.sas) {
        if (!sa.key_file.empty()) continue;
        std::string hex = "0x";
        for (uint8_t b : sa.key.bytes()) hex += fmt::format("{:02x}", b);
        const size_t at = text.find(kHiddenKey);
        ASSERT_NE(at, std::string::npos);
        text.replace(at, std::strlen(kHiddenKey), hex);
      }
    auto again = load_policy_text(text, "emitted");
    ASSERT_TRUE(again.ok()) << format(again.errors) << text;
    EXPECT_EQ(to_yaml(again.policy), shown);
    ASSERT_EQ(again.policy.services.size(), original.policy.services.size());
    for (size_t i = 0; i < original.policy.services.size(); ++i) {
      const Service &a = original.policy.services[i], &b = again.policy.services[i];
      EXPECT_EQ(std::tie(a.name, a.vip, a.mode, a.unknown_port, a.table_size, a.drain_seconds),
                std::tie(b.name, b.vip, b.mode, b.unknown_port, b.table_size, b.drain_seconds));
      ASSERT_EQ(a.endpoints.size(), b.endpoints.size());
      for (size_t j = 0; j < a.endpoints.size(); ++j)
        EXPECT_EQ(std::tie(a.endpoints[j].address, a.endpoints[j].port, a.endpoints[j].weight, a.endpoints[j].subset),
                  std::tie(b.endpoints[j].address, b.endpoints[j].port, b.endpoints[j].weight, b.endpoints[j].subset));
      ASSERT_EQ(a.ports.size(), b.ports.size());
      EXPECT_EQ(a.ports[0].target_port, b.ports[0].target_port);
      EXPECT_EQ(a.subsets.size(), b.subsets.size());
    }
    EXPECT_EQ(again.policy.peers, original.policy.peers);
    EXPECT_EQ(again.policy.load_balancer.flow_capacity, original.policy.load_balancer.flow_capacity);
    EXPECT_EQ(again.policy.routes.size(), original.policy.routes.size());
    ++seen;
  }
  EXPECT_GT(seen, 1);
}

TEST(Address, ParsesAndRejects) {
  EXPECT_EQ(parse_ipv4("192.168.1.2"), 0xC0A80102u);
  EXPECT_FALSE(parse_ipv4("192.168.1"));
  EXPECT_FALSE(parse_ipv4("1.2.3.4 "));
  EXPECT_FALSE(parse_ipv4_prefix("10.0.0.0/33"));
  EXPECT_FALSE(parse_ipv4_prefix("10.0.0.0/"));
  EXPECT_EQ(parse_ipv4_prefix("10.0.0.0")->length, 32);
  EXPECT_FALSE(parse_mac("02:00:00:00:00"));
  EXPECT_FALSE(parse_mac("02-00-00-00-00-01"));
  EXPECT_EQ(mac_to_string(*parse_mac("02:AB:00:00:00:01")), "02:ab:00:00:00:01");
}

}  // namespace
}  // namespace meshplane::config
