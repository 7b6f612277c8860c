// IKEv2 cryptography through OpenSSL: both DH groups agree and refuse
// values that are not points of their group; the PRF is HMAC (RFC 4231's
// test case 2); prf+ is a stream (a longer output starts with a shorter
// one); the IKE SA's keys have the sizes RFC 7296 and RFC 5282 give them and
// differ per direction; an SK payload opens with its key and not after any
// change to the associated data, the ciphertext or the key.
#include "ctrl/ike/crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "ctrl/ike/payloads.h"

namespace meshplane::ctrl::ike {
namespace {

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

TEST(IkeCrypto, BothGroupsAgreeAndRefuseWhatIsNotAPoint) {
  for (uint16_t group : {kDhCurve25519, kDhP256}) {
    auto a = KeyShare::generate(group);
    auto b = KeyShare::generate(group);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->public_value().size(), group == kDhCurve25519 ? 32u : 64u);
    const auto ab = a->shared_secret(b->public_value());
    const auto ba = b->shared_secret(a->public_value());
    ASSERT_TRUE(ab && ba) << group;
    EXPECT_EQ(ab->bytes(), ba->bytes());
    EXPECT_EQ(ab->bytes().size(), 32u);
    EXPECT_FALSE(a->shared_secret(std::vector<uint8_t>(a->public_value().size() - 1, 7))) << "wrong size";
  }
  auto p256 = KeyShare::generate(kDhP256);
  std::vector<uint8_t> off_curve(64, 0);
  off_curve[31] = 1, off_curve[63] = 1;  // (1, 1) is not on P-256
  EXPECT_FALSE(p256->shared_secret(off_curve));
  auto x25519 = KeyShare::generate(kDhCurve25519);
  EXPECT_FALSE(x25519->shared_secret(std::vector<uint8_t>(32, 0))) << "a low-order point gives the zero secret";
  EXPECT_FALSE(KeyShare::generate(14)) << "MODP groups are not offered";
}

TEST(IkeCrypto, PrfIsHmacAndPrfPlusIsAStream) {
  // RFC 4231 section 4.3 (test case 2), HMAC-SHA-256.
  const auto mac = prf(kPrfHmacSha256, text("Jefe"), text("what do ya want for nothing?"));
  const std::vector<uint8_t> expected = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                         0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                         0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(mac, expected);
  EXPECT_EQ(prf_size(kPrfHmacSha384), 48u);
  const auto short_out = prf_plus(kPrfHmacSha256, text("key"), text("seed"), 40);
  const auto long_out = prf_plus(kPrfHmacSha256, text("key"), text("seed"), 100);
  ASSERT_EQ(short_out.bytes().size(), 40u);
  EXPECT_TRUE(std::equal(short_out.bytes().begin(), short_out.bytes().end(), long_out.bytes().begin()));
  auto first = text("seed");
  first.push_back(1);
  const auto t1 = prf(kPrfHmacSha256, text("key"), first);
  EXPECT_TRUE(std::equal(t1.begin(), t1.end(), long_out.bytes().begin())) << "T1 = prf(K, S | 0x01)";
}

TEST(IkeCrypto, IkeKeysHaveTheirSizesAndDifferPerDirection) {
  const config::Secret shared(std::vector<uint8_t>(32, 9));
  const std::vector<uint8_t> ni(32, 1), nr(32, 2);
  const IkeKeys k = derive_ike_keys(kPrfHmacSha256, 16, ni, nr, shared, 0x1122334455667788, 0x99aabbccddeeff00);
  EXPECT_EQ(k.sk_d.bytes().size(), 32u);
  EXPECT_EQ(k.sk_ei.bytes().size(), 20u) << "AES-128 key and 4-byte salt";
  EXPECT_EQ(k.sk_pr.bytes().size(), 32u);
  EXPECT_NE(k.sk_ei.bytes(), k.sk_er.bytes());
  EXPECT_NE(k.sk_pi.bytes(), k.sk_pr.bytes());
  const IkeKeys other = derive_ike_keys(kPrfHmacSha256, 16, ni, nr, shared, 0x1122334455667788, 0x99aabbccddeeff01);
  EXPECT_NE(k.sk_d.bytes(), other.sk_d.bytes()) << "the SPIs are part of the seed";
  const ChildKeys c = derive_child_keys(kPrfHmacSha256, 20, k.sk_d, ni, nr);
  EXPECT_EQ(c.initiator_to_responder.bytes().size(), 20u);
  EXPECT_NE(c.initiator_to_responder.bytes(), c.responder_to_initiator.bytes());
  const ChildKeys pfs = derive_child_keys(kPrfHmacSha256, 20, k.sk_d, ni, nr, &shared);
  EXPECT_NE(c.initiator_to_responder.bytes(), pfs.initiator_to_responder.bytes()) << "PFS: the new secret counts";
}

TEST(IkeCrypto, AnSkPayloadOpensOnlyAsSealed) {
  const config::Secret key(std::vector<uint8_t>(20, 0x42));
  Header h;
  h.spi_i = 1, h.spi_r = 2, h.exchange = Exchange::kIkeAuth, h.flags = kFlagInitiator, h.message_id = 1;
  MessageWriter inner;
  write_nonce(inner, std::vector<uint8_t>(16, 5));
  const uint8_t first = inner.first_type();
  const auto plaintext = inner.finish();
  const auto sealed = seal_message(h, first, plaintext, key, 7);
  const ParseResult r = parse(sealed);
  ASSERT_TRUE(r.message) << to_string(r.error);
  ASSERT_EQ(r.message->payloads.size(), 1u);
  const Payload& sk = r.message->payloads[0];
  EXPECT_EQ(sk.next, first);
  const auto aad = std::span(sealed).first(kHeaderSize + kPayloadHeaderSize);
  const auto opened = open_sk(aad, sk.body, key);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, plaintext);

  auto tampered = sealed;
  tampered[20] ^= 1;  // the message ID: associated data
  EXPECT_FALSE(open_sk(std::span(tampered).first(32), parse(tampered).message->payloads[0].body, key));
  tampered = sealed;
  tampered[tampered.size() - 20] ^= 1;  // ciphertext
  EXPECT_FALSE(open_sk(aad, parse(tampered).message->payloads[0].body, key));
  const config::Secret other(std::vector<uint8_t>(20, 0x43));
  EXPECT_FALSE(open_sk(aad, sk.body, other));
  EXPECT_NE(seal_message(h, first, plaintext, key, 8), sealed) << "another IV, another ciphertext";
}

}  // namespace
}  // namespace meshplane::ctrl::ike
