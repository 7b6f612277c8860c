// The responder's IKE_SA_INIT on strongSwan's captured request: the first
// acceptable proposal in the initiator's order is chosen, the answer carries
// it with a share of its group; a cookie is demanded (and checked) when
// asked; proposals we cannot take are refused with NO_PROPOSAL_CHOSEN.
#include "ctrl/ike/sa_init.h"

#include <gtest/gtest.h>

#include "tests/support/ike_capture.h"


namespace meshplane::ctrl::ike {
namespace {

Endpoint at(uint8_t last, uint16_t port = 500) {
  Endpoint e;
  e.address = {192, 0, 2, last};
  e.port = port;
  return e;
}

// `request` again with a COOKIE notify first (RFC 7296 section 2.6).
std::vector<uint8_t> with_cookie(const Message& request, std::span<const uint8_t> cookie) {
  MessageWriter w(request.header);
  write_notify(w, static_cast<uint16_t>(NotifyType::kCookie), cookie);
  for (const auto& p : request.payloads) {
    w.begin(static_cast<PayloadType>(p.type), p.critical);
    w.bytes(p.body);
  }
  return w.finish();
}

std::vector<uint16_t> notify_types(const Message& m) {
  std::vector<uint16_t> out;
  std::string error;
  for (const auto& p : m.payloads)
    if (p.type == static_cast<uint8_t>(PayloadType::kNotify)) out.push_back(read_notify(p.body, error)->type);
  return out;
}

TEST(IkeSaInit, AnswersStrongSwansRequestWithItsFirstAcceptableProposal) {
  const auto raw = testing::strongswan_ike_sa_init();
  const Message request = *parse(raw).message;
  const CookieJar jar;
  const SaInitOutcome o = respond_sa_init(request, raw, at(1), at(2), IkePolicy{}, jar, false);
  ASSERT_TRUE(o.sa) << o.why;
  EXPECT_EQ(o.sa->chosen.number, 1) << "the initiator's order decides: AES-256/SHA-384/P-256 first";
  EXPECT_EQ(o.sa->chosen.group, kDhP256);
  EXPECT_EQ(o.sa->chosen.prf, kPrfHmacSha384);
  EXPECT_NE(o.sa->spi_r, 0u);
  EXPECT_EQ(o.sa->keys.sk_ei.bytes().size(), 36u) << "AES-256 key and salt";
  EXPECT_TRUE(o.sa->peer_behind_nat) << "the capture came from another address than at(1)";
  const Message reply = *parse(o.reply).message;
  EXPECT_EQ(reply.header.flags, kFlagResponse);
  EXPECT_EQ(reply.header.spi_r, o.sa->spi_r);
  std::string error;
  std::vector<Proposal> sa;
  ASSERT_TRUE(read_sa(reply.find(PayloadType::kSa)->body, sa, error));
  ASSERT_EQ(sa.size(), 1u);
  EXPECT_EQ(sa[0], o.sa->chosen.as_proposal());
  EXPECT_EQ(read_ke(reply.find(PayloadType::kKe)->body, error)->data.size(), 64u);
  EXPECT_EQ(notify_types(reply), (std::vector<uint16_t>{16388, 16389, 16431}));
  EXPECT_EQ(o.sa->request, raw);
  EXPECT_EQ(o.sa->response, o.reply);
}

TEST(IkeSaInit, ACookieIsDemandedAndOnlyTheRightOneAccepted) {
  const auto raw = testing::strongswan_ike_sa_init();
  const Message request = *parse(raw).message;
  CookieJar jar;
  const SaInitOutcome asked = respond_sa_init(request, raw, at(1), at(2), IkePolicy{}, jar, true);
  EXPECT_FALSE(asked.sa);
  const Message reply = *parse(asked.reply).message;
  EXPECT_EQ(reply.header.spi_r, 0u) << "no state, no SPI";
  ASSERT_EQ(notify_types(reply), (std::vector<uint16_t>{16390}));
  std::string error;
  const auto cookie = read_notify(reply.payloads[0].body, error)->data;
  const std::vector<uint8_t> c(cookie.begin(), cookie.end());
  const auto ni = request.find(PayloadType::kNonce)->body;
  EXPECT_TRUE(jar.valid(c, ni, at(1), request.header.spi_i));
  EXPECT_FALSE(jar.valid(c, ni, at(3), request.header.spi_i)) << "another source address";
  EXPECT_FALSE(jar.valid(c, ni, at(1), request.header.spi_i + 1)) << "another SPI";
  jar.rotate();
  EXPECT_TRUE(jar.valid(c, ni, at(1), request.header.spi_i)) << "the previous secret still counts";
  jar.rotate();
  EXPECT_FALSE(jar.valid(c, ni, at(1), request.header.spi_i));

  const auto stale = with_cookie(request, c);
  CookieJar fresh;
  const auto again = respond_sa_init(*parse(stale).message, stale, at(1), at(2), IkePolicy{}, fresh, true);
  EXPECT_FALSE(again.sa) << "a cookie from another jar (secret) is refused";
  CookieJar same = fresh;
  const auto mine = respond_sa_init(request, raw, at(1), at(2), IkePolicy{}, same, true);
  const auto my_cookie = read_notify(parse(mine.reply).message->payloads[0].body, error)->data;
  const auto returned = with_cookie(request, my_cookie);
  EXPECT_TRUE(respond_sa_init(*parse(returned).message, returned, at(1), at(2), IkePolicy{}, same, true).sa);
}

TEST(IkeSaInit, ProposalsWeCannotTakeAreRefused) {
  Proposal cbc;
  cbc.transforms = {{TransformType::kEncr, 12, 128}, {TransformType::kInteg, 12}, {TransformType::kPrf, 5},
                    {TransformType::kDh, 31}};
  Proposal gcm192;
  gcm192.transforms = {{TransformType::kEncr, kEncrAesGcm16, 192}, {TransformType::kPrf, 5}, {TransformType::kDh, 31}};
  Proposal modp;
  modp.transforms = {{TransformType::kEncr, kEncrAesGcm16, 128}, {TransformType::kPrf, 5}, {TransformType::kDh, 14}};
  EXPECT_FALSE(choose_ike_proposal({cbc, gcm192, modp}, IkePolicy{}));
  Proposal good = modp;
  good.number = 4;
  good.transforms.push_back({TransformType::kDh, kDhP256});
  good.transforms.push_back({TransformType::kDh, kDhCurve25519});
  const auto chosen = choose_ike_proposal({cbc, good}, IkePolicy{});
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->number, 4);
  EXPECT_EQ(chosen->group, kDhCurve25519) << "within a proposal, our preference";

  Header h;
  h.spi_i = 99;
  MessageWriter w(h);
  write_sa(w, {cbc});
  write_ke(w, 31, std::vector<uint8_t>(32, 9));
  write_nonce(w, std::vector<uint8_t>(32, 1));
  const auto raw = w.finish();
  const CookieJar jar;
  const auto o = respond_sa_init(*parse(raw).message, raw, at(1), at(2), IkePolicy{}, jar, false);
  EXPECT_FALSE(o.sa);
  EXPECT_EQ(notify_types(*parse(o.reply).message), (std::vector<uint16_t>{14})) << "NO_PROPOSAL_CHOSEN";
}

}  // namespace
}  // namespace meshplane::ctrl::ike
