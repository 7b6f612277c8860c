// The responder under load and loss: a flood of IKE_SA_INIT from spoofed
// sources past the cookie threshold gets cookies and leaves no state, while
// a real initiator still gets through; one source cannot hold more than its
// share; retransmitted requests get the same answers without new state or
// keys; half-open SAs expire.
#include "ctrl/ike/responder.h"

#include <gtest/gtest.h>

#include "ctrl/ike/initiator.h"
#include "tests/support/ike_capture.h"

namespace meshplane::ctrl::ike {
namespace {

Endpoint at(uint8_t a, uint8_t b = 1) {
  Endpoint e;
  e.address = {198, 51, a, b};
  return e;
}

// strongSwan's request under another initiator SPI.
std::vector<uint8_t> request_with_spi(uint64_t spi) {
  auto raw = testing::strongswan_ike_sa_init();
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(spi >> (56 - 8 * i));
  return raw;
}

AuthConfig psk_config(const std::string& id) {
  AuthConfig c;
  c.local_id = id;
  c.psk = config::Secret(std::vector<uint8_t>(32, 3));
  TrafficSelector any;
  any.end = {255, 255, 255, 255};
  c.local_ts = c.remote_ts = {any};
  return c;
}

// Runs `initiator` against `r` until established or refused; the number of requests sent.
int run(Initiator& initiator, Responder& r, const Endpoint& from, const Endpoint& to, Initiator::Step& last) {
  std::vector<uint8_t> request = initiator.start();
  for (int n = 1; n <= 6; ++n) {
    const Responder::Result result = r.handle(request, from, to, 1000);
    if (result.reply.empty()) return n;
    last = initiator.on_response(*parse(result.reply).message, result.reply);
    if (last.child || !last.failed.empty()) return n;
    request = std::move(last.send);
  }
  return 6;
}

TEST(IkeResponder, AFloodFromSpoofedSourcesGetsCookiesAndARealInitiatorGetsThrough) {
  const AuthConfig config = psk_config("gw-b.example");
  ResponderLimits limits;
  limits.cookie_threshold = 50;
  Responder r(IkePolicy{}, config, limits);
  const Endpoint us = at(100, 2);
  for (uint32_t i = 0; i < 300; ++i) {
    const auto request = request_with_spi(0x1000 + i);
    const Responder::Result result = r.handle(request, at(static_cast<uint8_t>(i / 200), static_cast<uint8_t>(i)), us, 1000);
    ASSERT_FALSE(result.reply.empty()) << i;
  }
  EXPECT_EQ(r.half_open(), 50u) << "state only below the threshold";
  EXPECT_EQ(r.cookies_sent(), 250u);

  const AuthConfig peer = psk_config("gw-a.example");
  Initiator initiator(IkePolicy{}, peer, at(7), us);
  Initiator::Step last;
  const int requests = run(initiator, r, at(7), us, last);
  ASSERT_TRUE(last.child) << last.failed;
  EXPECT_EQ(requests, 3) << "IKE_SA_INIT, again with the cookie, IKE_AUTH";
}

TEST(IkeResponder, OneSourceHoldsOnlyItsShare) {
  const AuthConfig config = psk_config("gw-b.example");
  ResponderLimits limits;
  limits.half_open_per_source = 8;
  Responder r(IkePolicy{}, config, limits);
  size_t answered = 0;
  for (uint64_t spi = 1; spi <= 20; ++spi) answered += !r.handle(request_with_spi(spi), at(1), at(100), 1000).reply.empty();
  EXPECT_EQ(answered, 8u);
  EXPECT_EQ(r.half_open(), 8u);
  EXPECT_EQ(r.handle(request_with_spi(21), at(1), at(100), 1000).refused, "half-open IKE SAs at their limit");
  EXPECT_FALSE(r.handle(request_with_spi(21), at(2), at(100), 1000).reply.empty()) << "another source is served";
}

TEST(IkeResponder, RetransmissionsGetTheSameAnswerAndHalfOpenSasExpire) {
  const AuthConfig config = psk_config("gw-b.example");
  Responder r(IkePolicy{}, config);
  const AuthConfig peer = psk_config("gw-a.example");
  Initiator initiator(IkePolicy{}, peer, at(1), at(100));
  const auto init = initiator.start();
  const auto first = r.handle(init, at(1), at(100), 1000);
  const auto again = r.handle(init, at(1), at(100), 1500);
  EXPECT_EQ(first.reply, again.reply) << "the same answer (same SPI, nonce and share)";
  EXPECT_EQ(r.half_open(), 1u);
  const Initiator::Step step = initiator.on_response(*parse(first.reply).message, first.reply);
  const auto auth = r.handle(step.send, at(1), at(100), 2000);
  ASSERT_TRUE(auth.established) << auth.refused;
  const auto auth_again = r.handle(step.send, at(1), at(100), 2100);
  EXPECT_EQ(auth_again.reply, auth.reply);
  EXPECT_FALSE(auth_again.established) << "established once";
  EXPECT_EQ(r.half_open(), 0u);

  Initiator late(IkePolicy{}, peer, at(2), at(100));
  const auto late_init = r.handle(late.start(), at(2), at(100), 3000);
  EXPECT_EQ(r.half_open(), 1u);
  r.expire(3000 + ResponderLimits{}.half_open_ms);
  EXPECT_EQ(r.half_open(), 0u);
  const Initiator::Step late_step = late.on_response(*parse(late_init.reply).message, late_init.reply);
  EXPECT_EQ(r.handle(late_step.send, at(2), at(100), 40000).refused, "IKE_AUTH for an IKE SA we do not have");
}

}  // namespace
}  // namespace meshplane::ctrl::ike
