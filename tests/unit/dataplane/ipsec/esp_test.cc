// ESP with AES-GCM checked against an implementation that is not ours:
// OpenSSL's EVP AES-GCM opens what esp_seal wrote, and esp_open opens what
// OpenSSL sealed, for thousands of random packets (sizes, keys, AES-128 and
// -256, ESN on and off, plain and UDP-encapsulated). The wire format is
// rebuilt here from RFC 4303/4106/3948, not from esp.cc.
#include "dataplane/ipsec/esp.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <random>
#include <vector>

#include "dataplane/worker/packet_meta.h"
#include "tests/support/packet_builder.h"

namespace meshplane::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

// OpenSSL AES-GCM: encrypts (or decrypts and verifies) `data` with a 12-byte nonce.
bool openssl_gcm(bool encrypt, const Bytes& key, const uint8_t* nonce, const Bytes& aad, Bytes& data,
                 uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const EVP_CIPHER* cipher = key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  int len = 0;
  bool ok = EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce, encrypt) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_CipherUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) == 1;
  if (ok && !encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
  ok = ok && EVP_CipherFinal_ex(ctx, data.data() + len, &len) == 1;
  if (ok && encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

void put32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes aad_of(uint32_t spi, uint64_t seq, bool esn) {
  Bytes aad;
  put32(aad, spi);
  if (esn) put32(aad, static_cast<uint32_t>(seq >> 32));
  put32(aad, static_cast<uint32_t>(seq));
  return aad;
}

struct Case {
  Bytes key, salt;  // 16 or 32, and 4
  uint32_t spi;
  uint64_t seq;
  bool esn, udp;
  Bytes inner;  // an IPv4 packet
};

class EspTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = rte_pktmbuf_pool_create("esptest", 255, 0, sizeof(PacketMeta), RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    ASSERT_TRUE(gcm_.ok());
  }
  void TearDown() override { rte_mempool_free(pool_); }

  Case random_case() {
    Case c;
    c.key.resize(rng_() % 2 ? 16 : 32);
    for (auto& b : c.key) b = static_cast<uint8_t>(rng_());
    c.salt.resize(4);
    for (auto& b : c.salt) b = static_cast<uint8_t>(rng_());
    c.spi = static_cast<uint32_t>(rng_()) | 0x100;
    c.esn = rng_() % 2;
    c.udp = rng_() % 2;
    c.seq = c.esn ? (uint64_t{static_cast<uint32_t>(rng_()) % 4} << 32 | static_cast<uint32_t>(rng_())) | 1
                  : (static_cast<uint32_t>(rng_()) | 1);
    testing::Frame f;
    f.ip_src = 0x0a010002, f.ip_dst = 0x0a020002;
    f.l4 = testing::udp(1000, 2000, rng_() % 1400);
    rte_mbuf* m = testing::build(pool_, f);
    c.inner.assign(rte_pktmbuf_mtod_offset(m, uint8_t*, 14), rte_pktmbuf_mtod_offset(m, uint8_t*, 14) + m->data_len - 14);
    rte_pktmbuf_free(m);
    return c;
  }
  GcmKey prepared(const Case& c) {
    Bytes material = c.key;
    material.insert(material.end(), c.salt.begin(), c.salt.end());
    GcmKey k;
    EXPECT_TRUE(gcm_.prepare(material.data(), material.size(), k));
    return k;
  }
  // The case's inner packet, sealed by esp_seal between 192.0.2.1 and 192.0.2.2.
  rte_mbuf* sealed(const Case& c, const GcmKey& key) {
    rte_mbuf* m = frame_of(c.inner);
    const EspSeal p{&key, rte_cpu_to_be_32(c.spi), c.seq, c.esn, RTE_BE32(0xc0000201), RTE_BE32(0xc0000202), c.udp, 7};
    EXPECT_EQ(esp_seal(gcm_, p, m), DropReason::kCount);
    return m;
  }
  rte_mbuf* frame_of(const Bytes& ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + ip.size())));
    std::memset(p, 0x11, 12);
    p[12] = 0x08, p[13] = 0x00;
    std::memcpy(p + 14, ip.data(), ip.size());
    return m;
  }

  std::mt19937_64 rng_{7};
  rte_mempool* pool_ = nullptr;
  GcmEngine gcm_;
};

TEST_F(EspTest, OpensslOpensWhatWeSeal) {
  for (int i = 0; i < 2000; ++i) {
    const Case c = random_case();
    const GcmKey key = prepared(c);
    rte_mbuf* m = sealed(c, key);
    const uint8_t* w = rte_pktmbuf_mtod(m, const uint8_t*);
    Bytes wire(w, w + m->data_len);
    rte_pktmbuf_free(m);

    // Outer IPv4 (RFC 791), UDP (RFC 3948), ESP (RFC 4303): parsed here.
    ASSERT_EQ(wire[12], 0x08);
    const uint8_t* ip = wire.data() + 14;
    ASSERT_EQ(ip[0], 0x45);
    ASSERT_EQ(testing::rfc1071(ip, 20), 0) << "outer header checksum";
    ASSERT_EQ(size_t{ip[2]} << 8 | ip[3], wire.size() - 14);
    ASSERT_EQ(ip[9], c.udp ? 17 : 50);
    size_t esp = 14 + 20;
    if (c.udp) {
      ASSERT_EQ(wire[esp] << 8 | wire[esp + 1], 4500);
      ASSERT_EQ(wire[esp + 2] << 8 | wire[esp + 3], 4500);
      ASSERT_EQ(size_t{wire[esp + 4]} << 8 | wire[esp + 5], wire.size() - 14 - 20) << "UDP length";
      esp += 8;
    }
    const uint32_t spi = uint32_t{wire[esp]} << 24 | wire[esp + 1] << 16 | wire[esp + 2] << 8 | wire[esp + 3];
    ASSERT_EQ(spi, c.spi);
    const uint32_t low = uint32_t{wire[esp + 4]} << 24 | wire[esp + 5] << 16 | wire[esp + 6] << 8 | wire[esp + 7];
    ASSERT_EQ(low, static_cast<uint32_t>(c.seq));
    uint8_t nonce[12];
    std::memcpy(nonce, c.salt.data(), 4);
    std::memcpy(nonce + 4, wire.data() + esp + 8, 8);
    Bytes data(wire.begin() + static_cast<long>(esp + 16), wire.end() - 16);
    Bytes tag(wire.end() - 16, wire.end());
    ASSERT_TRUE(openssl_gcm(false, c.key, nonce, aad_of(c.spi, c.seq, c.esn), data, tag.data())) << "case " << i;
    ASSERT_EQ(data.size() % 4, 0u);
    const uint8_t pad = data[data.size() - 2];
    ASSERT_EQ(data.back(), 4) << "next header: IPv4";
    for (uint8_t k = 0; k < pad; ++k) ASSERT_EQ(data[c.inner.size() + k], k + 1) << "RFC 4303 2.4 padding";
    ASSERT_EQ(Bytes(data.begin(), data.begin() + static_cast<long>(c.inner.size())), c.inner);
  }
}

// Sealed by OpenSSL with a random IV (any unique IV is valid), opened by esp_open.
TEST_F(EspTest, WeOpenWhatOpensslSeals) {
  for (int i = 0; i < 2000; ++i) {
    const Case c = random_case();
    const GcmKey key = prepared(c);
    const uint32_t pad = (4 - (c.inner.size() + 2) % 4) % 4;
    Bytes data = c.inner;
    for (uint32_t k = 1; k <= pad; ++k) data.push_back(static_cast<uint8_t>(k));
    data.push_back(static_cast<uint8_t>(pad));
    data.push_back(4);
    uint8_t iv[8], nonce[12], tag[16];
    for (auto& b : iv) b = static_cast<uint8_t>(rng_());
    std::memcpy(nonce, c.salt.data(), 4);
    std::memcpy(nonce + 4, iv, 8);
    ASSERT_TRUE(openssl_gcm(true, c.key, nonce, aad_of(c.spi, c.seq, c.esn), data, tag));
    Bytes esp;
    put32(esp, c.spi);
    put32(esp, static_cast<uint32_t>(c.seq));
    esp.insert(esp.end(), iv, iv + 8);
    esp.insert(esp.end(), data.begin(), data.end());
    esp.insert(esp.end(), tag, tag + 16);
    Bytes outer(20 + (c.udp ? 8 : 0), 0);
    outer[0] = 0x45;
    outer.insert(outer.end(), esp.begin(), esp.end());
    rte_mbuf* m = frame_of(outer);
    const EspFrame f{14 + 20 + (c.udp ? 8u : 0u), rte_cpu_to_be_32(c.spi)};
    ASSERT_EQ(esp_open(gcm_, key, f, c.seq, c.esn, m), DropReason::kCount) << "case " << i;
    ASSERT_EQ(m->data_len, 14 + c.inner.size());
    ASSERT_EQ(Bytes(rte_pktmbuf_mtod_offset(m, uint8_t*, 14), rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len)),
              c.inner);
    ASSERT_EQ(rte_pktmbuf_mtod(m, uint8_t*)[0], 0x11) << "the Ethernet header moved with the packet";
    rte_pktmbuf_free(m);
  }
}

// Any change to what the ICV covers, or the wrong key or ESN high half, fails verification.
TEST_F(EspTest, TamperedOrMiskeyedPacketsFailAuthentication) {
  for (int i = 0; i < 500; ++i) {
    const Case c = random_case();
    const GcmKey key = prepared(c);
    rte_mbuf* m = sealed(c, key);
    const uint32_t esp = 14 + 20 + (c.udp ? 8 : 0);
    const EspFrame f{esp, rte_cpu_to_be_32(c.spi)};
    const int what = i % 4;
    uint64_t seq = c.seq;
    GcmKey k = key;
    if (what == 0) {  // a bit of the ciphertext or ICV
      const uint32_t at = esp + 16 + static_cast<uint32_t>(rng_() % (m->data_len - esp - 16));
      rte_pktmbuf_mtod(m, uint8_t*)[at] ^= static_cast<uint8_t>(1u << (rng_() % 8));
    } else if (what == 1) {  // the sequence number in the AAD
      seq ^= 1;
    } else if (what == 2) {  // another key
      Case other = c;
      other.key[0] ^= 0x80;
      k = prepared(other);
    } else {  // the ESN high half (only counts with ESN); without ESN, the SPI
      if (c.esn) seq += uint64_t{1} << 32;
    }
    EspFrame g = f;
    if (what == 3 && !c.esn) g.spi ^= RTE_BE32(1);
    EXPECT_EQ(esp_open(gcm_, k, g, seq, c.esn, m), DropReason::kEspAuthFailed) << "case " << i << " kind " << what;
    rte_pktmbuf_free(m);
  }
}

TEST_F(EspTest, TruncatedPacketsAreMalformed) {
  const Case c = random_case();
  const GcmKey key = prepared(c);
  for (uint32_t len = 0; len < 8 + 8 + 16 + 4; ++len) {
    Bytes outer(20 + len, 0);
    outer[0] = 0x45;
    rte_mbuf* m = frame_of(outer);
    EXPECT_EQ(esp_open(gcm_, key, {34, 0}, 1, false, m), DropReason::kEspMalformed) << len;
    rte_pktmbuf_free(m);
  }
}

TEST(EspSizes, OverheadAndInnerMtuAgree) {
  for (bool udp : {false, true})
    for (uint32_t mtu = 100; mtu <= 9000; mtu += 7) {
      const uint32_t inner = esp_inner_mtu(mtu, udp);
      EXPECT_LE(inner + esp_overhead(inner, udp), mtu);
      EXPECT_GT(inner + 1 + esp_overhead(inner + 1, udp), mtu) << "one byte more would not fit";
    }
}

}  // namespace
}  // namespace meshplane::dataplane
