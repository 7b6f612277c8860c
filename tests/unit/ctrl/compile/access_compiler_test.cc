// The access classifier against a brute-force reference: random rule sets
// and random packets, drawn from small value sets so that rules overlap and
// packets hit them; the first matching rule (in policy order) must be what
// rte_acl answers, for every packet. Also: hits carry over to unchanged
// rules, and the stage's key for real packets.
#include "ctrl/compile/access_compiler.h"

#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <random>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

using config::AccessRule;
using config::Ipv4Prefix;
using config::PortRange;
using dataplane::AccessKey;

const std::vector<config::Port> kPorts = {{"lan", "d0"}, {"wan", "d1"}, {"dmz", "d2"}};

// What a packet is, in host order, and its key as the access stage builds it.
struct Packet {
  uint8_t protocol;
  uint32_t source, destination;
  uint16_t source_port, destination_port;  // ICMP: type and code
  uint32_t port;
  AccessKey key() const {
    return {protocol, {}, rte_cpu_to_be_32(source), rte_cpu_to_be_32(destination), rte_cpu_to_be_16(source_port),
            rte_cpu_to_be_16(destination_port), rte_cpu_to_be_32(port)};
  }
};

bool in(const std::vector<Ipv4Prefix>& list, uint32_t a) {
  if (list.empty()) return true;
  for (const auto& p : list)
    if (config::prefix_contains(p, a)) return true;
  return false;
}
bool in(const std::vector<PortRange>& list, uint16_t v) {
  if (list.empty()) return true;
  for (const auto& r : list)
    if (r.first <= v && v <= r.last) return true;
  return false;
}

// The rules' meaning, read straight from docs/config.md.
int32_t reference(const std::vector<AccessRule>& rules, const Packet& p) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const AccessRule& r = rules[i];
    if (r.protocol && *r.protocol != p.protocol) continue;
    if (!in(r.sources, p.source) || !in(r.destinations, p.destination)) continue;
    if (!in(r.source_ports, p.source_port) || !in(r.destination_ports, p.destination_port)) continue;
    if (r.icmp_type && *r.icmp_type != p.source_port) continue;
    if (!r.ingress.empty() && kPorts[p.port].name != r.ingress) continue;
    return static_cast<int32_t>(i);
  }
  return -1;
}

class Draw {
 public:
  explicit Draw(uint32_t seed) : rng_(seed) {}
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool chance(uint32_t percent) { return below(100) < percent; }

  // Addresses in 10.0.0.0/22 so that prefixes of every length meet.
  uint32_t address() { return 0x0a000000u | below(1024); }
  Ipv4Prefix prefix() {
    const uint8_t len = static_cast<uint8_t>(chance(10) ? below(9) : 20 + below(13));
    return {address() & config::prefix_mask(len), len};
  }
  uint8_t protocol() {
    static constexpr uint8_t kProtocols[] = {1, 6, 17, 47};
    return kProtocols[below(4)];
  }
  uint16_t port_number() { return static_cast<uint16_t>(chance(20) ? below(65536) : below(64)); }
  PortRange range() {
    uint16_t a = port_number(), b = chance(50) ? a : port_number();
    return {std::min(a, b), std::max(a, b)};
  }

  AccessRule rule(size_t i) {
    AccessRule r;
    r.name = "r" + std::to_string(i);
    r.action = static_cast<config::AccessAction>(below(3));
    if (chance(85)) r.protocol = protocol();
    for (uint32_t n = chance(80) ? 1 + below(3) : 0; n; --n) r.sources.push_back(prefix());
    for (uint32_t n = chance(80) ? 1 + below(2) : 0; n; --n) r.destinations.push_back(prefix());
    if (r.protocol == 6 || r.protocol == 17) {
      for (uint32_t n = chance(30) ? 1 + below(2) : 0; n; --n) r.source_ports.push_back(range());
      for (uint32_t n = chance(60) ? 1 + below(3) : 0; n; --n) r.destination_ports.push_back(range());
    }
    if (r.protocol == 1 && chance(50)) r.icmp_type = static_cast<uint8_t>(below(12));
    if (chance(20)) r.ingress = kPorts[below(3)].name;
    return r;
  }

  Packet packet() {
    Packet p{protocol(), address(), address(), 0, 0, below(3)};
    if (p.protocol == 1) {
      p.source_port = static_cast<uint16_t>(below(12));
      p.destination_port = static_cast<uint16_t>(below(4));
    } else if (p.protocol != 47) {
      p.source_port = port_number();
      p.destination_port = port_number();
    }
    return p;
  }

 private:
  std::mt19937 rng_;
};

TEST(AccessClassifier, AgreesWithTheReferenceOnRandomRulesAndPackets) {
  size_t matched = 0, later = 0, checked = 0;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    Draw draw(seed);
    config::AccessPolicy access;
    const size_t rules = 1 + draw.below(seed % 3 == 0 ? 400 : 40);
    for (size_t i = 0; i < rules; ++i) access.rules.push_back(draw.rule(i));
    config::Status status;
    auto table = AccessTable::build(access, kPorts, 1, nullptr, status);
    ASSERT_TRUE(table) << status.message;
    for (int i = 0; i < 2000; ++i) {
      const Packet p = draw.packet();
      const int32_t want = reference(access.rules, p);
      ASSERT_EQ(table->classify(p.key()), want)
          << "seed " << seed << " packet " << i << ": protocol " << int{p.protocol} << " "
          << config::ipv4_to_string(p.source) << ":" << p.source_port << " -> "
          << config::ipv4_to_string(p.destination) << ":" << p.destination_port << " port " << p.port;
      matched += want >= 0;
      later += want > 0;  // a rule after the first decided: order mattered
      ++checked;
    }
  }
  // The draw must exercise both outcomes, or the agreement proves little.
  EXPECT_GT(matched, checked / 5);
  EXPECT_LT(matched, checked * 9 / 10);
  EXPECT_GT(later, checked / 10);
}

TEST(AccessClassifier, EarlierRulesWinAndListsMeanAnyOf) {
  config::AccessPolicy access;
  AccessRule ssh;
  ssh.name = "ssh";
  ssh.protocol = 6;
  ssh.destination_ports = {{22, 22}, {2222, 2222}};
  AccessRule lan;
  lan.name = "lan";
  lan.ingress = "lan";
  access.rules = {ssh, lan};
  config::Status status;
  auto table = AccessTable::build(access, kPorts, 1, nullptr, status);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->classify(Packet{6, 1, 2, 999, 2222, 0}.key()), 0);
  EXPECT_EQ(table->classify(Packet{6, 1, 2, 999, 23, 0}.key()), 1);
  EXPECT_EQ(table->classify(Packet{17, 1, 2, 999, 22, 1}.key()), -1);
  EXPECT_EQ(table->entries(), 3u);
}

TEST(AccessClassifier, HitsCarryOverToRulesThatDidNotChange) {
  config::AccessPolicy access;
  for (const char* name : {"a", "b"}) {
    AccessRule r;
    r.name = name;
    r.protocol = 6;
    access.rules.push_back(r);
  }
  config::Status status;
  auto first = AccessTable::build(access, kPorts, 2, nullptr, status);
  ASSERT_TRUE(first);
  auto view = first->view();
  view.hits[0].add(5);                   // worker 0, rule a
  view.hits[view.hit_stride + 1].add(7);  // worker 1, rule b
  EXPECT_EQ(first->hits(0), 5u);
  EXPECT_EQ(first->hits(1), 7u);
  access.rules[1].protocol = 17;  // b changes; a does not
  auto second = AccessTable::build(access, kPorts, 2, first.get(), status);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->hits(0), 5u);
  EXPECT_EQ(second->hits(1), 0u);
  EXPECT_FALSE(second->same_input(first->rules(), kPorts));
  EXPECT_TRUE(second->same_input(access, kPorts));
}

}  // namespace
}  // namespace meshplane::ctrl
