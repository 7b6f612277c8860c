// IKEv2 messages: an IKE_SA_INIT request captured from strongSwan 5.9.8
// (tests/fuzz/seeds/ike_message/strongswan_ike_sa_init.bin: two proposals,
// P-256 key exchange, NAT detection and other notifies) is read field by
// field, and writing the same contents with MessageWriter gives the same
// bytes; malformed messages are refused for the right reason; traffic
// selectors (IPv4 and IPv6) and deletes read back what was written.
#include "ctrl/ike/message.h"

#include <gtest/gtest.h>

#include "tests/support/ike_capture.h"


#include "ctrl/ike/payloads.h"

namespace meshplane::ctrl::ike {
namespace {

std::vector<uint8_t> bytes(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

TEST(IkeMessage, ReadsStrongSwansIkeSaInitAndWritesTheSameBytes) {
  const auto datagram = testing::strongswan_ike_sa_init();
  ASSERT_EQ(datagram.size(), 300u);
  const ParseResult r = parse(datagram);
  ASSERT_TRUE(r.message) << to_string(r.error);
  const Message& m = *r.message;
  EXPECT_EQ(m.header.exchange, Exchange::kIkeSaInit);
  EXPECT_EQ(m.header.flags, kFlagInitiator);
  EXPECT_EQ(m.header.message_id, 0u);
  EXPECT_EQ(m.header.spi_r, 0u);
  EXPECT_NE(m.header.spi_i, 0u);
  std::vector<uint8_t> types;
  for (const auto& p : m.payloads) types.push_back(p.type);
  EXPECT_EQ(types, (std::vector<uint8_t>{33, 34, 40, 41, 41, 41, 41, 41}));

  std::string error;
  std::vector<Proposal> proposals;
  ASSERT_TRUE(read_sa(m.payloads[0].body, proposals, error)) << error;
  ASSERT_EQ(proposals.size(), 2u);
  EXPECT_EQ(proposals[0].protocol, Protocol::kIke);
  EXPECT_EQ(proposals[0].transforms, (std::vector<Transform>{{TransformType::kEncr, kEncrAesGcm16, 256},
                                                             {TransformType::kPrf, kPrfHmacSha384},
                                                             {TransformType::kDh, kDhP256}}));
  EXPECT_EQ(proposals[1].number, 2);
  EXPECT_EQ(proposals[1].transforms, (std::vector<Transform>{{TransformType::kEncr, kEncrAesGcm16, 128},
                                                             {TransformType::kPrf, kPrfHmacSha256},
                                                             {TransformType::kDh, kDhCurve25519}}));
  const auto ke = read_ke(m.payloads[1].body, error);
  ASSERT_TRUE(ke);
  EXPECT_EQ(ke->group, kDhP256);
  EXPECT_EQ(ke->data.size(), 64u) << "P-256: x and y, 32 bytes each (RFC 5903)";
  EXPECT_EQ(m.payloads[2].body.size(), 32u) << "nonce";
  std::vector<Notify> notifies;
  for (size_t i = 3; i < m.payloads.size(); ++i) {
    auto n = read_notify(m.payloads[i].body, error);
    ASSERT_TRUE(n) << error;
    notifies.push_back(*n);
  }
  EXPECT_EQ(notifies[0].type, static_cast<uint16_t>(NotifyType::kNatDetectionSourceIp));
  EXPECT_EQ(notifies[0].data.size(), 20u) << "a SHA-1 hash";
  EXPECT_EQ(notifies[1].type, static_cast<uint16_t>(NotifyType::kNatDetectionDestinationIp));
  EXPECT_EQ(notifies[2].type, static_cast<uint16_t>(NotifyType::kFragmentationSupported));
  EXPECT_EQ(notifies[3].type, static_cast<uint16_t>(NotifyType::kSignatureHashAlgorithms));
  EXPECT_EQ(bytes(notifies[3].data), (std::vector<uint8_t>{0, 2, 0, 3, 0, 4, 0, 5})) << "SHA2-256/384/512, Identity";
  EXPECT_EQ(notifies[4].type, 16406) << "REDIRECT_SUPPORTED (RFC 5685): unknown here, read as any notify";

  MessageWriter w(m.header);
  write_sa(w, proposals);
  write_ke(w, ke->group, ke->data);
  write_nonce(w, m.payloads[2].body);
  for (const auto& n : notifies) write_notify(w, n.type, n.data);
  EXPECT_EQ(w.finish(), datagram) << "the same message, byte for byte";
}

TEST(IkeMessage, MalformedMessagesAreRefusedForTheirReason) {
  const auto good = testing::strongswan_ike_sa_init();
  EXPECT_EQ(parse(std::span(good).first(27)).error, ParseError::kTruncated);
  auto bad = good;
  bad[17] = 0x10;  // IKEv1
  EXPECT_EQ(parse(bad).error, ParseError::kBadVersion);
  bad = good;
  bad.push_back(0);  // a byte the header's length does not count
  EXPECT_EQ(parse(bad).error, ParseError::kBadLength);
  bad = good;
  bad[27] -= 1;  // the header claims one byte less than arrived... and the last payload then overruns
  EXPECT_FALSE(parse(bad).message);

  Header h;
  h.exchange = Exchange::kInformational;
  MessageWriter unknown(h);
  unknown.begin(static_cast<PayloadType>(200), true);
  unknown.u32(7);
  const ParseResult r = parse(unknown.finish());
  EXPECT_EQ(r.error, ParseError::kCriticalUnsupported);
  EXPECT_EQ(r.critical_type, 200);
  MessageWriter ignored(h);
  ignored.begin(static_cast<PayloadType>(200), false);  // not critical: kept, for callers to skip
  ignored.u32(7);
  EXPECT_TRUE(parse(ignored.finish()).message);

  MessageWriter sk_first(h);
  sk_first.begin(PayloadType::kSk);
  sk_first.u32(1);
  write_nonce(sk_first, std::vector<uint8_t>(16, 1));
  EXPECT_EQ(parse(sk_first.finish()).error, ParseError::kMisplacedSk) << "an SK payload ends the chain";

  MessageWriter inner;
  write_nonce(inner, std::vector<uint8_t>(16, 1));
  inner.begin(PayloadType::kSk);
  inner.u32(1);
  const uint8_t first = inner.first_type();
  const auto plain = inner.finish();
  std::vector<Payload> out;
  ParseError e;
  uint8_t critical = 0;
  EXPECT_FALSE(parse_chain(plain, first, out, e, critical));
  EXPECT_EQ(e, ParseError::kMisplacedSk) << "no SK payload inside an SK payload";

  MessageWriter many(h);
  for (size_t i = 0; i <= kMaxPayloads; ++i) write_notify(many, 16384);
  EXPECT_EQ(parse(many.finish()).error, ParseError::kTooManyPayloads);

  MessageWriter zero(h);
  zero.begin(PayloadType::kNonce);
  auto z = zero.finish();
  z[30] = 0, z[31] = 3;  // a payload length below its own header
  z.resize(28 + 4);
  EXPECT_EQ(parse(z).error, ParseError::kBadLength);
}

TEST(IkeMessage, SelectorsAndDeletesReadBackWhatWasWritten) {
  TrafficSelector v4;
  v4.protocol = 6;
  v4.start_port = 80, v4.end_port = 443;
  v4.start = {10, 1, 0, 0};
  v4.end = {10, 1, 255, 255};
  TrafficSelector v6;
  v6.type = kTsIpv6Range;
  v6.start = {0x20, 0x01, 0x0d, 0xb8};
  v6.end = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  Header h;
  h.exchange = Exchange::kCreateChildSa;
  MessageWriter w(h);
  write_ts(w, PayloadType::kTsi, {v4, v6});
  write_delete(w, Protocol::kEsp, {{1, 2, 3, 4}, {5, 6, 7, 8}});
  const auto datagram = w.finish();
  const ParseResult r = parse(datagram);
  ASSERT_TRUE(r.message);
  std::string error;
  std::vector<TrafficSelector> ts;
  ASSERT_TRUE(read_ts(r.message->payloads[0].body, ts, error)) << error;
  EXPECT_EQ(ts, (std::vector<TrafficSelector>{v4, v6}));
  const auto d = read_delete(r.message->payloads[1].body, error);
  ASSERT_TRUE(d) << error;
  ASSERT_EQ(d->spis.size(), 2u);
  EXPECT_EQ(bytes(d->spis[1]), (std::vector<uint8_t>{5, 6, 7, 8}));

  std::vector<uint8_t> body = {3, 4, 0, 2, 1, 2, 3, 4};  // two 4-byte SPIs announced, one present
  EXPECT_FALSE(read_delete(body, error));
  EXPECT_EQ(error, "delete payload length is not its SPIs'");
  body = {1, 0, 0, 0};  // the IKE SA itself
  EXPECT_TRUE(read_delete(body, error));
  body = {1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};  // the IKE SA never names an SPI
  EXPECT_FALSE(read_delete(body, error));
  std::vector<uint8_t> selector = {1, 0, 0, 0, kTsIpv4Range, 0, 0, 24};  // length 24 is IPv6's
  selector.resize(4 + 24);
  EXPECT_FALSE(read_ts(selector, ts, error));
}

}  // namespace
}  // namespace meshplane::ctrl::ike
