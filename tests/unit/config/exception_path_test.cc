// The exception_path section: what parses, what is refused with its position
// (a name that is no namespace name, too few host ports, host ports that are
// NAT ports), and that emitted policy reads back the same.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// Health checks run from the exception path: each type, what it reads back
// as, and the fields a type does not take refused at their position.
TEST(HealthCheck, TypesParseReadBackAndRefuseForeignFields) {
  const std::string head = kBase + R"(load_balancer: {nat_port_max: 60999}
exception_path: {netns: gw-host}
services:
  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 443}]
    endpoints: [{address: 10.1.0.11}]
)";
  auto r = load_policy_text(head + "    health_check: {type: https, path: /healthz, sni: web.example, expect_status: 200-204}\n",
                            "p.yaml");
  ASSERT_TRUE(r.ok()) << format(r.errors);
  const HealthCheck& https = *r.policy.services[0].health_check;
  EXPECT_EQ(https.type, HealthCheck::Type::kHttps);
  EXPECT_EQ(https.sni, "web.example");
  EXPECT_EQ(https.status_max, 204);
  auto again = load_policy_text(to_yaml(r.policy), "again.yaml");
  ASSERT_TRUE(again.ok()) << format(again.errors);
  EXPECT_EQ(again.policy.services[0].health_check, r.policy.services[0].health_check);

  r = load_policy_text(head + "    health_check: {type: command, command: [/usr/local/bin/check-db, --quick]}\n",
                       "p.yaml");
  ASSERT_TRUE(r.ok()) << format(r.errors);
  EXPECT_EQ(r.policy.services[0].health_check->command, (std::vector<std::string>{"/usr/local/bin/check-db", "--quick"}));
  again = load_policy_text(to_yaml(r.policy), "again.yaml");
  ASSERT_TRUE(again.ok()) << format(again.errors);
  EXPECT_EQ(again.policy.services[0].health_check, r.policy.services[0].health_check);

  r = load_policy_text(head + R"(    health_check:
      type: command
      command: [check-db]
      path: /x
      port: 5432
)",
                       "p.yaml");
  EXPECT_TRUE(has(r, 12, "must be an absolute path")) << format(r.errors);
  EXPECT_TRUE(has(r, 13, "path needs type http or https")) << format(r.errors);
  EXPECT_TRUE(has(r, 14, "a command check connects nowhere")) << format(r.errors);
  r = load_policy_text(head + "    health_check: {type: tcp, sni: a.example, command: [/bin/true]}\n", "p.yaml");
  EXPECT_TRUE(has(r, 10, "sni needs type https")) << format(r.errors);
  EXPECT_TRUE(has(r, 10, "command needs type: command")) << format(r.errors);
  r = load_policy_text(head + "    health_check: {type: command}\n", "p.yaml");
  EXPECT_TRUE(has(r, 10, "needs command: [program")) << format(r.errors);
}

}  // namespace
}  // namespace meshplane::config
