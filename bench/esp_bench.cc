// ESP cost per packet on real mbufs, without a PMD, for inner packets of 64,
// 512 and 1400 bytes:
//   seal, open        esp_seal / esp_open alone (ipsec-mb AES-128-GCM), one SA
//                     and 1,000 SAs used in random order (keys out of cache)
//   OpenSSL           the same AES-128-GCM through EVP, one context per key
//                     set up beforehand, as an ESP stack on OpenSSL would use it
//   encrypt path      the whole pipeline of a gateway: LAN packet -> route ->
//                     encrypt -> route-encrypted -> egress (WorkerRig)
//   decrypt path      parse -> decrypt (SA lookup, replay window, ICV) -> route
// Packets are restored between bursts outside the timed region.
//   build/bench/esp_bench [rounds]   (default 20,000 bursts of 32 per case)
#include <openssl/evp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/ipsec/esp.h"
#include "tests/support/packet_builder.h"
#include "tests/support/worker_rig.h"

using namespace meshplane;
using namespace meshplane::dataplane;

namespace {

constexpr uint16_t kBurst = 32;
constexpr int kManySas = 1000;
const std::string kKeyAB = "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4";
const std::string kKeyBA = "0x1112131415161718191a1b1c1d1e1f20b1b2b3b4";

double hz() { return static_cast<double>(rte_get_tsc_hz()); }

// A frame: Ethernet + an IPv4/UDP packet of `inner` bytes from 10.1.0.5 to 10.2.0.7.
std::vector<uint8_t> lan_frame(rte_mempool* pool, uint32_t inner) {
  testing::Frame f;
  f.dst = testing::kMacA, f.ip_src = 0x0a010005, f.ip_dst = 0x0a020007;
  f.l4 = testing::udp(1000, 2000, inner - 28);
  rte_mbuf* m = testing::build(pool, testing::with_l4_checksum(f));
  std::vector<uint8_t> bytes(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_mtod(m, uint8_t*) + m->data_len);
  rte_pktmbuf_free(m);
  return bytes;
}

void restore(rte_mbuf* m, const std::vector<uint8_t>& frame) {
  rte_pktmbuf_reset(m);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
}

struct Line {
  uint64_t cycles = 0, packets = 0;
  uint32_t bytes = 0;
  void print(const char* what) const {
    const double c = static_cast<double>(cycles) / static_cast<double>(packets);
    std::printf("  %-34s %5u B %8.0f cycles/packet %7.1f ns %6.2f Mpps %6.1f Gbit/s\n", what, bytes, c, c / hz() * 1e9,
                hz() / c / 1e6, hz() / c * bytes * 8 / 1e9);
  }
};

std::string gateway(const std::string& lan, const std::string& wan, const std::string& peer, const std::string& prefix,
                    const std::string& out_spi, const std::string& out_key, const std::string& in_spi,
                    const std::string& in_key) {
  return "ports:\n  - {name: lan, device: d0, addresses: [" + lan + "]}\n  - {name: wan, device: d1, addresses: [" +
         wan + "]}\npeers:\n  - {name: far, address: " + peer + ", local_address: " + wan.substr(0, wan.find('/')) +
         ", prefixes: [" + prefix + "], sas: [{direction: outbound, spi: " + out_spi + ", key: " + out_key +
         "}, {direction: inbound, spi: " + in_spi + ", key: " + in_key + "}]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 20000;

  testing::WorkerRig a(gateway("10.1.0.1/24", "192.0.2.1/24", "192.0.2.2", "10.2.0.0/16", "0x1001", kKeyAB, "0x2001",
                               kKeyBA), {.mbufs = 1023});
  testing::WorkerRig b(gateway("10.2.0.1/24", "192.0.2.2/24", "192.0.2.1", "10.1.0.0/16", "0x2001", kKeyBA, "0x1001",
                               kKeyAB), {.mbufs = 1023});
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "%s%s\n", a.error.c_str(), b.error.c_str());
    return 1;
  }
  a.neighbours.set(a.neighbours.insert(1, 0xc0000202), NeighbourState::kReachable, testing::kMacB);
  b.neighbours.set(b.neighbours.insert(0, 0x0a020007), NeighbourState::kReachable, testing::kMacA);

  GcmEngine& gcm = a.gcm;
  std::mt19937 rng(1);
  std::vector<GcmKey> keys(kManySas);
  std::vector<std::vector<uint8_t>> raw_keys(kManySas, std::vector<uint8_t>(20));
  for (int k = 0; k < kManySas; ++k) {
    for (auto& byte : raw_keys[k]) byte = static_cast<uint8_t>(rng());
    gcm.prepare(raw_keys[k].data(), 20, keys[k]);
  }
  std::vector<EVP_CIPHER_CTX*> evp(kManySas);
  for (int k = 0; k < kManySas; ++k) {
    evp[k] = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(evp[k], EVP_aes_128_gcm(), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(evp[k], EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_EncryptInit_ex(evp[k], nullptr, nullptr, raw_keys[k].data(), nullptr);
  }

  rte_mbuf* pkts[kBurst];
  for (auto& m : pkts) m = rte_pktmbuf_alloc(a.pool);
  std::printf("ESP with AES-128-GCM (16-byte ICV), bursts of %u, %ld rounds, TSC %.2f GHz; Gbit/s of inner packets\n",
              kBurst, rounds, hz() / 1e9);
  for (uint32_t inner : {64u, 512u, 1400u}) {
    const std::vector<uint8_t> frame = lan_frame(a.pool, inner);
    for (int sas : {1, kManySas}) {
      Line seal{0, 0, inner}, open{0, 0, inner}, ossl{0, 0, inner};
      uint64_t seq = 1;
      std::vector<int> which(kBurst);
      for (long r = 0; r < rounds; ++r) {
        for (uint16_t i = 0; i < kBurst; ++i) {
          restore(pkts[i], frame);
          which[i] = static_cast<int>(rng() % sas);
        }
        uint64_t t0 = rte_rdtsc_precise();
        for (uint16_t i = 0; i < kBurst; ++i) {
          const EspSeal p{&keys[which[i]], RTE_BE32(0x1001), seq + i, false, RTE_BE32(0xc0000201),
                          RTE_BE32(0xc0000202), false, 1};
          esp_seal(gcm, p, pkts[i]);
        }
        seal.cycles += rte_rdtsc_precise() - t0;
        t0 = rte_rdtsc_precise();
        for (uint16_t i = 0; i < kBurst; ++i) {
          const EspFrame f{34, RTE_BE32(0x1001)};
          if (esp_open(gcm, keys[which[i]], f, seq + i, false, pkts[i]) != DropReason::kCount) return 1;
        }
        open.cycles += rte_rdtsc_precise() - t0;
        // OpenSSL over the same bytes: nonce, AAD, encrypt in place, tag.
        t0 = rte_rdtsc_precise();
        for (uint16_t i = 0; i < kBurst; ++i) {
          uint8_t nonce[12] = {}, aad[8] = {}, tag[16];
          std::memcpy(nonce + 4, &seq, 8);
          int len = 0;
          uint8_t* data = rte_pktmbuf_mtod_offset(pkts[i], uint8_t*, 14);
          EVP_EncryptInit_ex(evp[which[i]], nullptr, nullptr, nullptr, nonce);
          EVP_EncryptUpdate(evp[which[i]], nullptr, &len, aad, sizeof aad);
          EVP_EncryptUpdate(evp[which[i]], data, &len, data, static_cast<int>(inner + 2));
          EVP_EncryptFinal_ex(evp[which[i]], data + len, &len);
          EVP_CIPHER_CTX_ctrl(evp[which[i]], EVP_CTRL_GCM_GET_TAG, 16, tag);
        }
        ossl.cycles += rte_rdtsc_precise() - t0;
        seq += kBurst;
        seal.packets += kBurst, open.packets += kBurst, ossl.packets += kBurst;
      }
      const std::string n = sas == 1 ? "1 SA" : "1,000 SAs";
      seal.print(("seal (ipsec-mb), " + n).c_str());
      open.print(("open (ipsec-mb), " + n).c_str());
      ossl.print(("encrypt (OpenSSL EVP), " + n).c_str());
    }
    // The whole pipeline both ways, one SA.
    Line enc{0, 0, inner}, dec{0, 0, inner};
    for (long r = 0; r < rounds; ++r) {
      for (uint16_t i = 0; i < kBurst; ++i) restore(pkts[i], frame);
      a.sa_table->refresh();  // the control loop's part: more sequence numbers
      uint64_t t0 = rte_rdtsc_precise();
      a.run(pkts, kBurst, 0);
      enc.cycles += rte_rdtsc_precise() - t0;
      enc.packets += kBurst;
      if (a.w.tx[1].count != kBurst) {
        std::fprintf(stderr, "encrypt path did not send the burst (%u)\n", a.w.tx[1].count);
        return 1;
      }
      for (uint16_t i = 0; i < kBurst; ++i) {
        rte_mbuf* m = a.w.tx[1].pkts[i];
        std::memcpy(rte_pktmbuf_mtod(m, rte_ether_addr*), &testing::kMacB, 6);  // to B's WAN port
        pkts[i] = m;
      }
      a.w.tx[1].count = 0;
      t0 = rte_rdtsc_precise();
      b.run(pkts, kBurst, 1);
      dec.cycles += rte_rdtsc_precise() - t0;
      dec.packets += kBurst;
      if (b.w.tx[0].count != kBurst) {
        std::fprintf(stderr, "decrypt path did not forward the burst (%u)\n", b.w.tx[0].count);
        return 1;
      }
      for (uint16_t i = 0; i < kBurst; ++i) pkts[i] = b.w.tx[0].pkts[i];
      b.w.tx[0].count = 0;
    }
    enc.print("encrypt path (route, seal, route)");
    dec.print("decrypt path (SA, window, open, route)");
  }
  for (auto* m : pkts) rte_pktmbuf_free(m);
  for (auto* c : evp) EVP_CIPHER_CTX_free(c);
  return 0;
}
