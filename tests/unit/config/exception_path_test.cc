// The exception_path section: what parses, what is refused with its position
// (a name that is no namespace name, too few host ports, host ports that are
// NAT ports), and that emitted policy reads back the same.
#include <gtest/gtest.h>

#include <string>

#include "config/emitter.h"
#include "config/parser.h"

namespace meshplane::config {
namespace {

const std::string kBase = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
)";

bool has(const ParseResult& r, int line, const std::string& text) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(ExceptionPath, ParsesAndReadsBack) {
  const auto r = load_policy_text(kBase + "exception_path: {netns: gw-host, packets_per_second: 500, "
                                          "local_ports: 50000-60000}\n",
                                  "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_TRUE(r.policy.exception_path);
  EXPECT_EQ(r.policy.exception_path->netns, "gw-host");
  EXPECT_EQ(r.policy.exception_path->packets_per_second, 500u);
  EXPECT_EQ(r.policy.exception_path->local_port_min, 50000);
  EXPECT_EQ(r.policy.exception_path->local_port_max, 60000);
  const auto again = load_policy_text(to_yaml(r.policy), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.message;
  EXPECT_EQ(again.policy.exception_path, r.policy.exception_path);
  EXPECT_FALSE(load_policy_text(kBase, "p.yaml").policy.exception_path) << "off unless configured";
}

TEST(ExceptionPath, MistakesAreRefusedWithTheirPosition) {
  auto r = load_policy_text(kBase + "exception_path:\n  netns: ../etc\n  local_ports: 65000-65535\n", "p.yaml");
  EXPECT_TRUE(has(r, 4, "is not a namespace name")) << format(r.errors);
  EXPECT_TRUE(has(r, 5, "at least 1024 ports")) << format(r.errors);
  r = load_policy_text(kBase + R"(services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.11}]}
exception_path:
  netns: gw-host
)",
                       "p.yaml");
  EXPECT_TRUE(has(r, 6, "overlap the NAT ports 1024-65535")) << format(r.errors);
  r = load_policy_text(kBase + R"(load_balancer: {nat_port_max: 60999}
services:
  - {name: web, vip: 10.30.0.10, ports: [{protocol: tcp, port: 80}], endpoints: [{address: 10.1.0.11}]}
exception_path: {netns: gw-host}
)",
                       "p.yaml");
  EXPECT_TRUE(r.ok()) << r.message;
}

}  // namespace
}  // namespace meshplane::config
