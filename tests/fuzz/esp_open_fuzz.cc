// libFuzzer target for what meshplane reads from the network in ESP: the
// packet as received (lengths, SPI, sequence number, ICV) and, behind a
// valid ICV, the decrypted trailer and inner packet a peer controls.
//   input[0] even: the rest is an ESP packet as received (after the outer IPv4 header)
//   input[0] odd:  the rest is a plaintext (inner packet, padding, pad length, next
//                  header) that the harness encrypts with the SA's key, so the
//                  fuzzer reaches the code behind the ICV check
// Built and run by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address).
// fuzz-sources: dataplane/ipsec/esp.cc dataplane/ipsec/aes_gcm.cc
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/replay_window.h"

using namespace meshplane::dataplane;

namespace {

constexpr uint32_t kSpi = RTE_BE32(0x1001);
constexpr size_t kEsp = 14 + 20;  // where ESP starts in the frame

struct World {
  rte_mempool* pool = nullptr;
  GcmEngine gcm;
  GcmKey key;
  ReplayWindow window{64};
  World() {
    const char* eal[] = {"fuzz", "--no-huge", "-m", "128", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                         "lib.eal:error"};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) __builtin_trap();
    pool = rte_pktmbuf_pool_create("fuzz", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    const uint8_t material[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xa1, 0xa2, 0xa3, 0xa4};
    if (!pool || !gcm.ok() || !gcm.prepare(material, sizeof material, key)) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size < 1 || size > 1800) return 0;
  const bool sealed = data[0] & 1;
  ++data, --size;
  rte_mbuf* m = rte_pktmbuf_alloc(world.pool);
  const size_t esp_len = sealed ? 8 + 8 + size + kGcmIcvLen : size;
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kEsp + esp_len)));
  if (!frame) {
    rte_pktmbuf_free(m);
    return 0;
  }
  std::memset(frame, 0, kEsp);
  frame[12] = 0x08, frame[14] = 0x45, frame[14 + 9] = kIpProtoEsp;
  uint8_t* esp = frame + kEsp;
  uint64_t seq = 1;
  if (sealed) {  // SPI, sequence number, IV, then the fuzzer's plaintext encrypted, then its ICV
    std::memcpy(esp, &kSpi, 4);
    const rte_be32_t low = RTE_BE32(1);
    std::memcpy(esp + 4, &low, 4);
    std::memset(esp + 8, 0, 8);
    std::memcpy(esp + 16, data, size);
    const uint8_t aad[8] = {0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01};
    world.gcm.seal(world.key, esp + 8, aad, sizeof aad, esp + 16, size, esp + 16 + size);
  } else {
    std::memcpy(esp, data, size);
    if (size >= 8) {
      rte_be32_t low;
      std::memcpy(&low, esp + 4, 4);
      seq = world.window.infer(rte_be_to_cpu_32(low), false);
    }
  }
  EspFrame f{static_cast<uint32_t>(kEsp), kSpi};
  if (world.window.check(seq) == ReplayWindow::Verdict::kNew &&
      esp_open(world.gcm, world.key, f, seq, false, m) == DropReason::kCount) {
    // What the decrypt stage reads next: the inner IPv4 header, within the frame.
    if (m->data_len >= 14 + sizeof(rte_ipv4_hdr)) {
      const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14);
      volatile uint32_t src = ip->src_addr;
      (void)src;
    }
  }
  if (sealed) world.window = ReplayWindow(64);  // every sealed input carries number 1
  rte_pktmbuf_free(m);
  return 0;
}
