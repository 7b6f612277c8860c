// Two meshplane gateways keyed by each other, in process: ctrl/ike's
// Initiator against the responder functions, with certificates from one
// test CA (Ed25519 on one side, ECDSA on the other) and with a pre-shared
// key. Both end with the same Child SA (SPIs crossed, keys equal) and the
// other's identity; a responder wanting another group costs one more
// round; a responder that names another CA's certificate is refused.
#include "ctrl/ike/initiator.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/ike_gateways.h"

namespace meshplane::ctrl::ike {
namespace {

using testing::test_endpoint;
constexpr auto at = test_endpoint;
constexpr auto prefix16 = testing::test_prefix16;

struct Gateway {
  std::optional<Credentials> credentials;
  std::optional<TrustStore> trust;
  AuthConfig auth;
};

class InitiatorTest : public ::testing::Test {
 protected:
  // A gateway named `name` (gw-a, gw-b) with a certificate of key type `type` from `issuer`, expecting `peer`.
  void make(Gateway& g, const std::string& name, const char* type, const std::string& peer, uint8_t own, uint8_t other,
            X509* issuer = nullptr, EVP_PKEY* issuer_key = nullptr) {
    std::string error;
    g.credentials = ca_.issue(name, type, error, issuer, issuer_key);
    g.trust = ca_.trust(error);
    ASSERT_TRUE(g.credentials && g.trust) << error;
    g.auth.local_id = name + ".example";
    g.auth.credentials = &*g.credentials;
    g.auth.trust = &*g.trust;
    g.auth.peer_identity = "spiffe://mesh.example/gateway/" + peer;
    g.auth.local_ts = {prefix16(own)};
    g.auth.remote_ts = {prefix16(other)};
  }
  // Runs the exchanges between `a` (initiator, at .1) and `b` (responder, at .2) in memory.
  Initiator::Step run(const Gateway& a, const Gateway& b, IkePolicy a_policy = {}, IkePolicy b_policy = {},
                      AuthOutcome* b_out = nullptr, int* rounds = nullptr) {
    Initiator i(a_policy, a.auth, at(1), at(2));
    std::vector<uint8_t> request = i.start();
    CookieJar jar;
    std::optional<HalfOpen> half;
    for (int n = 1; n <= 6; ++n) {
      const Message m = *parse(request).message;
      std::vector<uint8_t> answer;
      if (m.header.exchange == Exchange::kIkeSaInit) {
        SaInitOutcome o = respond_sa_init(m, request, at(1), at(2), b_policy, jar, false);
        answer = o.reply;
        half = std::move(o.sa);
      } else {
        AuthOutcome o = respond_ike_auth(*half, m, request, b.auth, 1);
        answer = o.reply;
        if (b_out) *b_out = std::move(o);
      }
      Initiator::Step step = i.on_response(*parse(answer).message, answer);
      if (rounds) *rounds = n;
      if (!step.failed.empty() || step.child) return step;
      request = std::move(step.send);
    }
    return {{}, "did not finish", {}, {}};
  }
  testing::TestGatewayCa ca_{"initiator"};
};

TEST_F(InitiatorTest, TwoGatewaysWithCertificatesAgreeOnTheChildSa) {
  Gateway a, b;
  make(a, "gw-a", "ED25519", "gw-b", 1, 2);
  make(b, "gw-b", "EC", "gw-a", 2, 1);
  AuthOutcome responder;
  int rounds = 0;
  const Initiator::Step step = run(a, b, {}, {}, &responder, &rounds);
  ASSERT_TRUE(step.child) << step.failed;
  ASSERT_TRUE(responder.child) << responder.refused;
  EXPECT_EQ(rounds, 2) << "IKE_SA_INIT and IKE_AUTH";
  EXPECT_EQ(step.peer_identity, "spiffe://mesh.example/gateway/gw-b");
  EXPECT_EQ(responder.peer_identity, "spiffe://mesh.example/gateway/gw-a");
  EXPECT_EQ(step.child->spi_in, responder.child->spi_out);
  EXPECT_EQ(step.child->spi_out, responder.child->spi_in);
  EXPECT_EQ(step.child->key_out.bytes(), responder.child->key_in.bytes());
  EXPECT_EQ(step.child->key_in.bytes(), responder.child->key_out.bytes());
  EXPECT_NE(step.child->key_in.bytes(), step.child->key_out.bytes());
  EXPECT_EQ(step.child->ts_local, std::vector<TrafficSelector>{prefix16(1)});
  EXPECT_EQ(step.child->ts_remote, std::vector<TrafficSelector>{prefix16(2)});
}

TEST_F(InitiatorTest, AnotherGroupCostsOneRoundAndAPskWorksToo) {
  Gateway a, b;
  a.auth.local_id = "gw-a.example";
  b.auth.local_id = "gw-b.example";
  a.auth.psk = b.auth.psk = config::Secret(std::vector<uint8_t>(32, 7));
  a.auth.local_ts = b.auth.remote_ts = {prefix16(1)};
  a.auth.remote_ts = b.auth.local_ts = {prefix16(2)};
  IkePolicy p256_first;
  p256_first.groups = {kDhP256, kDhCurve25519};  // a sends a P-256 share; b prefers Curve25519 from it
  AuthOutcome responder;
  int rounds = 0;
  const Initiator::Step step = run(a, b, p256_first, {}, &responder, &rounds);
  ASSERT_TRUE(step.child) << step.failed;
  EXPECT_EQ(rounds, 3) << "INVALID_KE_PAYLOAD, then IKE_SA_INIT again, then IKE_AUTH";
  EXPECT_EQ(step.child->key_out.bytes(), responder.child->key_in.bytes());
  EXPECT_EQ(step.peer_identity, "gw-b.example");
}

TEST_F(InitiatorTest, AResponderFromAnotherCaIsRefused) {
  EVP_PKEY* other_key = testing::new_key("ED25519");
  X509* other_ca = testing::make_cert(other_key, "other CA", nullptr, other_key, -1, 30, "", true);
  Gateway a, b;
  make(a, "gw-a", "EC", "gw-b", 1, 2);
  make(b, "gw-b", "EC", "gw-a", 2, 1, other_ca, other_key);
  const Initiator::Step step = run(a, b);
  EXPECT_FALSE(step.child);
  EXPECT_EQ(step.failed, "the responder: certificate refused: unable to get local issuer certificate");
  X509_free(other_ca);
  EVP_PKEY_free(other_key);
}

}  // namespace
}  // namespace meshplane::ctrl::ike
