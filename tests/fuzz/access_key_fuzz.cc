// libFuzzer target for the access stage's reading of a packet
// (dataplane/stages/access_key.cc): any IPv4 header bytes (IHL, total
// length, fragment fields, protocol) and any L4 bytes, in frames of any
// length from a bare IPv4 header up. AddressSanitizer catches a read past
// the frame; the checks below catch ports taken from where there are none.
// fuzz-sources: dataplane/stages/access_key.cc
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/stages/access_key.h"

using namespace meshplane::dataplane;

namespace {

struct World {
  rte_mempool* pool = nullptr;
  World() {
    const char* eal[] = {"fuzz", "--no-huge", "-m", "128", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                         "lib.eal:error"};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) __builtin_trap();
    pool = rte_pktmbuf_pool_create("fuzz", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size < sizeof(rte_ipv4_hdr) + 1 || size > 1500) return 0;
  const uint16_t port = data[0] & 15;
  ++data, --size;
  rte_mbuf* m = rte_pktmbuf_alloc(world.pool);
  // Exactly the frame's bytes, copied to the end of the buffer, so that a read past them leaves it.
  m->data_off = static_cast<uint16_t>(m->buf_len - 14 - size);
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + size)));
  std::memset(frame, 0, 12);
  frame[12] = 0x08, frame[13] = 0x00;
  std::memcpy(frame + 14, data, size);
  const AccessKey k = access_key(m, port);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(frame + 14);
  if (k.protocol != ip->next_proto_id || k.source != ip->src_addr || k.destination != ip->dst_addr ||
      k.port != rte_cpu_to_be_32(port))
    __builtin_trap();
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const bool later_fragment = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
  if ((k.source_port || k.destination_port) && (later_fragment || ihl < 20 || size < ihl + 4)) __builtin_trap();
  rte_pktmbuf_free(m);
  return 0;
}
