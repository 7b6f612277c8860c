// Test packets for the traffic generator: Ethernet/IPv4/UDP or TCP for one
// of N flows, with complete checksums and a payload the receiver reads back
// (a magic number, a sequence number and the transmit TSC).
#pragma once

#include <cstddef>
#include <cstdint>

namespace meshplane::gen {

struct FlowSpec {
  uint8_t src_mac[6] = {};
  uint8_t dst_mac[6] = {};
  uint32_t src_ip = 0;       // host order; flow i uses src_ip + (i / ports), src_port + (i % ports)
  uint32_t dst_ip = 0;
  uint16_t src_port = 1024;
  uint16_t ports_per_ip = 1024;
  uint16_t dst_port = 80;
  uint8_t proto = 17;        // 17 UDP, 6 TCP
  uint32_t flows = 1;
};

constexpr uint32_t kMagic = 0x6d657368;  // "mesh"

// 16 bytes, so a 64-byte UDP frame (60 without FCS) carries it. The sequence
// is 32 bits: a run may send at most 4 G packets.
struct Stamp {
  uint64_t tx_tsc;
  uint32_t sequence;
  uint32_t magic;
};
static_assert(sizeof(Stamp) == 16);

constexpr size_t kMinUdpFrame = 14 + 20 + 8 + sizeof(Stamp);   // 58: fits the 60 of a 64-byte frame
constexpr size_t kMinTcpFrame = 14 + 20 + 20 + sizeof(Stamp);  // 70

// Writes a `frame_len`-byte frame (without FCS) for flow `flow` into `buf`.
// TCP packets carry `tcp_flags` and sequence number `tcp_seq`. Returns the
// length written, or 0 when `frame_len` is below kMinUdpFrame / kMinTcpFrame
// or above 9000.
size_t build_packet(uint8_t* buf, size_t frame_len, const FlowSpec& spec, uint32_t flow, uint64_t sequence,
                    uint64_t tx_tsc, uint8_t tcp_flags = 0x10, uint32_t tcp_seq = 0);

// The sequence number of packet `position` of a connection whose SYN is
// packet 0 with number `first`, each later packet `frame_len` bytes: the
// numbers a real sender uses, so payload inspection sees an in-order stream.
inline uint32_t connection_seq(uint32_t first, uint64_t position, size_t frame_len) {
  const uint32_t payload = static_cast<uint32_t>(frame_len - 14 - 20 - 20);
  return position == 0 ? first : first + 1 + static_cast<uint32_t>(position - 1) * payload;
}

// Finds the stamp in a received frame (any header rewrites on the way are
// fine: it sits at a fixed distance from the end of the L4 header).
// Returns false for frames that are not ours.
bool read_stamp(const uint8_t* buf, size_t len, Stamp& out);

}  // namespace meshplane::gen
