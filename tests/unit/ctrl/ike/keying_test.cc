// Two IKE daemons (ctrl/ike/keying) keyed by each other in memory, with
// certificates from one test CA, through their whole life: establishment,
// Child SA rekeys from either side (with PFS) and at once from both (a
// collision settled by nonces), an IKE SA rekey that keeps the Child SA, a
// peer that goes silent (declared dead after its retransmissions, its SAs
// removed, and re-established when it answers again), retransmitted
// requests answered from cache, and a peer removed from the policy.
#include "ctrl/ike/keying.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>

#include "tests/support/ike_gateways.h"

namespace meshplane::ctrl::ike {
namespace {

constexpr auto at = testing::test_endpoint;
constexpr auto prefix16 = testing::test_prefix16;

struct Side {
  std::optional<Credentials> credentials;
  std::optional<TrustStore> trust;
  std::unique_ptr<Keying> keying;
  std::vector<std::pair<std::string, std::string>> events;
  bool deaf = false;  // drops everything sent to it
};

class KeyingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.child_rekey_ms = 20'000;
    settings_.ike_rekey_ms = 1'000'000;
    settings_.liveness_ms = 5'000;
    settings_.timing.retransmits = 3;
    make(a_, "gw-a", "ED25519");
    make(b_, "gw-b", "EC");
    configure(a_, "gw-b", 1, 2, true);
    configure(b_, "gw-a", 2, 1, false);
    pump();
  }
  void make(Side& s, const std::string& name, const char* type) {
    std::string error;
    s.credentials = ca_.issue(name, type, error);
    s.trust = ca_.trust(error);
    ASSERT_TRUE(s.credentials && s.trust) << error;
    s.keying = std::make_unique<Keying>(settings_, name + ".example", &*s.credentials, &*s.trust);
  }
  void configure(Side& s, const std::string& peer, uint8_t own, uint8_t other, bool initiate) {
    PeerSetup p;
    p.name = peer;
    p.local = at(own);
    p.remote = at(other);
    p.initiate = initiate;
    p.auth.peer_identity = "spiffe://mesh.example/gateway/" + peer;
    p.auth.local_ts = {prefix16(own)};
    p.auth.remote_ts = {prefix16(other)};
    Keying::Output out;
    s.keying->set_peers({p}, now_, out);
    take(s, out);
  }
  void take(Side& from, Keying::Output& out) {
    for (auto& d : out.send) wire_.push_back({&from == &a_ ? &b_ : &a_, std::move(d)});
    for (auto& e : out.events) from.events.push_back(e);
  }
  // Delivers datagrams until none are left (each side's answers included).
  void pump(size_t* delivered = nullptr) {
    for (int n = 0; !wire_.empty() && n < 200; ++n) {
      auto [to, d] = std::move(wire_.front());
      wire_.pop_front();
      if (to->deaf) continue;
      Keying::Output out;
      to->keying->on_datagram(d.bytes, d.from, d.to, now_, out);
      take(*to, out);
      if (delivered) ++*delivered;
    }
  }
  void advance(uint64_t ms) {
    now_ += ms;
    for (Side* s : {&a_, &b_}) {
      Keying::Output out;
      s->keying->tick(now_, out);
      take(*s, out);
    }
  }
  // Both sides hold the same Child SAs, crossed; returns how many.
  size_t agree() {
    const auto x = a_.keying->children("gw-b"), y = b_.keying->children("gw-a");
    EXPECT_EQ(x.size(), y.size());
    for (const auto& c : x) {
      const auto other = std::find_if(y.begin(), y.end(), [&](const ChildSa& d) { return d.spi_in == c.spi_out; });
      if (other == y.end()) {
        ADD_FAILURE() << "gw-a's Child SA has no counterpart at gw-b";
        continue;
      }
      EXPECT_EQ(other->spi_out, c.spi_in);
      EXPECT_EQ(other->key_in, c.key_out);
      EXPECT_EQ(other->key_out, c.key_in);
    }
    return x.size();
  }
  bool has_event(const Side& s, const std::string& text) const {
    return std::any_of(s.events.begin(), s.events.end(),
                       [&](const auto& e) { return e.second.find(text) != std::string::npos; });
  }

  testing::TestGatewayCa ca_{"keying"};
  KeyingSettings settings_;
  Side a_, b_;
  std::deque<std::pair<Side*, Datagram>> wire_;
  uint64_t now_ = 1'000;
};

TEST_F(KeyingTest, EstablishesWithCertificatesAndAgreesOnTheChildSa) {
  EXPECT_EQ(agree(), 1u);
  const auto sa = a_.keying->status();
  ASSERT_EQ(sa.size(), 1u);
  EXPECT_EQ(sa[0].state, "established");
  EXPECT_EQ(sa[0].identity, "spiffe://mesh.example/gateway/gw-b");
  EXPECT_TRUE(sa[0].initiator);
  EXPECT_EQ(b_.keying->status()[0].identity, "spiffe://mesh.example/gateway/gw-a");
  EXPECT_TRUE(has_event(b_, "it initiated"));
}

TEST_F(KeyingTest, RekeysTheChildSaMakeBeforeBreakWithFreshKeys) {
  const ChildSa before = a_.keying->children("gw-b").at(0);
  advance(settings_.child_rekey_ms);  // both sides' timers are due: one side's rekey goes first...
  pump();
  EXPECT_EQ(agree(), 1u) << "the old Child SA is deleted once the new one is in";
  const ChildSa after = a_.keying->children("gw-b").at(0);
  EXPECT_NE(after.spi_in, before.spi_in);
  EXPECT_NE(after.key_in, before.key_in);
  // ...and at the next period again, whoever starts.
  for (int i = 0; i < 3; ++i) {
    advance(settings_.child_rekey_ms);
    pump();
    EXPECT_EQ(agree(), 1u);
  }
  EXPECT_TRUE(has_event(a_, "rekeyed Child SA") || has_event(a_, "the peer rekeyed Child SA"));
}

TEST_F(KeyingTest, TheRekeysResponderKeepsSendingOnTheOldChildSaUntilItIsDeleted) {
  Keying::Output out;
  a_.keying->tick(now_ + settings_.child_rekey_ms, out);  // A asks B to rekey
  now_ += settings_.child_rekey_ms;
  ASSERT_EQ(out.send.size(), 1u);
  Keying::Output answer;
  b_.keying->on_datagram(out.send[0].bytes, out.send[0].from, out.send[0].to, now_, answer);
  auto b_children = b_.keying->children("gw-a");
  ASSERT_EQ(b_children.size(), 2u);
  EXPECT_TRUE(b_children[0].outbound_ready) << "the old one still carries B's traffic out";
  EXPECT_FALSE(b_children[1].outbound_ready) << "A has not installed the new one yet";
  take(b_, answer);
  pump();  // A installs it, sends out on it, deletes the old one
  b_children = b_.keying->children("gw-a");
  ASSERT_EQ(b_children.size(), 1u);
  EXPECT_TRUE(b_children[0].outbound_ready);
  EXPECT_EQ(agree(), 1u);
}

TEST_F(KeyingTest, SimultaneousRekeysLeaveOneChildSaOnBothSides) {
  // Both requests are on the wire before either answer: a collision (RFC 7296 section 2.8.1).
  Keying::Output oa, ob;
  a_.keying->tick(now_ + settings_.child_rekey_ms, oa);
  b_.keying->tick(now_ + settings_.child_rekey_ms, ob);
  now_ += settings_.child_rekey_ms;
  ASSERT_EQ(oa.send.size(), 1u);
  ASSERT_EQ(ob.send.size(), 1u);
  take(a_, oa);
  take(b_, ob);
  pump();
  EXPECT_EQ(agree(), 1u);
  EXPECT_TRUE(has_event(a_, "rekey collision"));
  EXPECT_TRUE(has_event(b_, "rekey collision"));
}

TEST_F(KeyingTest, ARestartedPeerReplacesTheOldIkeSa) {
  const auto before = a_.keying->status()[0];
  const ChildSa child = a_.keying->children("gw-b").at(0);
  now_ += 60'000;
  make(a_, "gw-a", "ED25519");  // A restarts: it knows nothing of the IKE SA B holds
  configure(a_, "gw-b", 1, 2, true);
  pump();
  EXPECT_EQ(agree(), 1u);
  EXPECT_TRUE(has_event(b_, "replaces"));
  EXPECT_NE(a_.keying->status()[0].spi_i, before.spi_i);
  EXPECT_NE(a_.keying->children("gw-b").at(0).spi_in, child.spi_in);
}

TEST_F(KeyingTest, AnIkeSaRekeyMovesTheChildSa) {
  settings_.ike_rekey_ms = 10'000;
  make(a_, "gw-a", "ED25519");
  make(b_, "gw-b", "EC");
  configure(a_, "gw-b", 1, 2, true);
  configure(b_, "gw-a", 2, 1, false);
  pump();
  const auto before = a_.keying->status()[0];
  const ChildSa child = a_.keying->children("gw-b").at(0);
  // Both sides' timers are due at once: the collision (section 2.8.2) is
  // refused by both, each tries again after a random short delay, one wins.
  advance(settings_.ike_rekey_ms);
  pump();
  for (int i = 0; i < 100 && a_.keying->status()[0].spi_i == before.spi_i; ++i) {
    advance(100);
    pump();
  }
  const auto after = a_.keying->status()[0];
  EXPECT_NE(after.spi_i, before.spi_i);
  EXPECT_EQ(b_.keying->status()[0].spi_i, after.spi_i);
  EXPECT_EQ(agree(), 1u);
  EXPECT_EQ(a_.keying->children("gw-b").at(0).spi_in, child.spi_in) << "the Child SA lives on under the new IKE SA";
  // The new IKE SA works: a Child SA rekey runs over it (IKE SA rekeys go on meanwhile).
  for (int i = 0; i < 30 && a_.keying->children("gw-b").at(0).spi_in == child.spi_in; ++i) {
    advance(1'000);
    pump();
  }
  EXPECT_EQ(agree(), 1u);
  EXPECT_NE(a_.keying->children("gw-b").at(0).spi_in, child.spi_in);
}

TEST_F(KeyingTest, ASilentPeerIsDeclaredDeadAndComesBack) {
  b_.deaf = true;
  advance(settings_.liveness_ms);  // A asks whether B is alive
  for (int i = 0; i < 8; ++i) advance(8'000);  // 0.5, 1, 2, 4 s of retransmissions, then dead
  EXPECT_TRUE(a_.keying->children("gw-b").empty());
  EXPECT_TRUE(has_event(a_, "dead"));
  EXPECT_NE(a_.keying->status()[0].why.find("dead"), std::string::npos);
  wire_.clear();
  b_.deaf = false;
  for (int i = 0; i < 120 && a_.keying->children("gw-b").empty(); ++i) {  // A tries again, backing off
    advance(1'000);
    pump();
  }
  EXPECT_EQ(agree(), 1u);
  EXPECT_EQ(a_.keying->status()[0].state, "established");
}

TEST_F(KeyingTest, TrafficWaitingForADownTunnelCutsTheBackOffShort) {
  b_.deaf = true;
  advance(settings_.liveness_ms);
  for (int i = 0; i < 12; ++i) advance(8'000);  // dead, then tries again and again: the back-off grows
  ASSERT_TRUE(a_.keying->children("gw-b").empty());
  while (a_.keying->status()[0].state == "connecting") advance(1'000);  // between attempts
  wire_.clear();
  b_.deaf = false;
  a_.keying->traffic_waiting(now_);
  advance(100);
  pump();
  EXPECT_EQ(agree(), 1u) << "up within a tick, not at the end of the back-off";
}

TEST_F(KeyingTest, ARetransmittedRequestIsAnsweredFromCacheWithoutRekeyingTwice) {
  Keying::Output out;
  a_.keying->tick(now_ + settings_.child_rekey_ms, out);
  now_ += settings_.child_rekey_ms;
  ASSERT_EQ(out.send.size(), 1u);
  const Datagram request = out.send[0];
  Keying::Output first, again;
  b_.keying->on_datagram(request.bytes, request.from, request.to, now_, first);
  b_.keying->on_datagram(request.bytes, request.from, request.to, now_, again);
  ASSERT_EQ(first.send.size(), 1u);
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(first.send[0].bytes, again.send[0].bytes);
  EXPECT_EQ(b_.keying->children("gw-a").size(), 2u) << "one new Child SA, not two";
}

TEST_F(KeyingTest, ALostIkeAuthAnswerIsSentAgainFromCache) {
  // A fresh start where B's IKE_AUTH answer is lost: A sends its IKE_AUTH
  // again, and B, its IKE SA already up, answers it as before.
  make(a_, "gw-a", "ED25519");
  make(b_, "gw-b", "EC");
  configure(b_, "gw-a", 2, 1, false);
  configure(a_, "gw-b", 1, 2, true);
  size_t delivered = 0;
  // IKE_SA_INIT to B, its answer to A, IKE_AUTH to B: then B's answer goes missing.
  for (int i = 0; i < 3; ++i) {
    auto [to, d] = std::move(wire_.front());
    wire_.pop_front();
    Keying::Output out;
    to->keying->on_datagram(d.bytes, d.from, d.to, now_, out);
    take(*to, out);
  }
  ASSERT_EQ(b_.keying->children("gw-a").size(), 1u) << "B is up";
  wire_.clear();
  EXPECT_TRUE(a_.keying->children("gw-b").empty());
  advance(600);  // A retransmits its IKE_AUTH
  pump(&delivered);
  EXPECT_EQ(agree(), 1u);
  EXPECT_GE(delivered, 2u);
}

TEST_F(KeyingTest, APeerRemovedFromThePolicyIsDeletedOnBothSides) {
  Keying::Output out;
  b_.keying->set_peers({}, now_, out);
  take(b_, out);
  pump();
  EXPECT_TRUE(b_.keying->status().empty());
  EXPECT_TRUE(a_.keying->children("gw-b").empty());
  EXPECT_TRUE(has_event(a_, "the peer deleted the IKE SA"));
}

}  // namespace
}  // namespace meshplane::ctrl::ike
