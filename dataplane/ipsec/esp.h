// ESP in tunnel mode with AES-GCM (RFC 4303, RFC 4106), optionally inside
// UDP port 4500 (RFC 3948), on single-segment mbufs that start with an
// Ethernet header. The packet layout on the wire:
//
//   [Ethernet][outer IPv4][UDP 4500]?[SPI][sequence][IV 8][inner IPv4 ... padding, pad length, next header][ICV 16]
//                                    \______ AAD ______/  \___________________ encrypted ___________________/
//
// The IV is the 64-bit sequence number: unique under one key as long as
// sequence numbers are (the SA state's job).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ipsec/aes_gcm.h"
#include "dataplane/worker/drop_reason.h"

namespace meshplane::dataplane {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kIkeNattPort = 4500;
inline constexpr uint8_t kIpProtoEsp = 50;
inline constexpr uint32_t kEspHeaderLen = 8;  // SPI, sequence number
inline constexpr uint32_t kUdpHeaderLen = 8;
inline constexpr uint32_t kOuterIpv4Len = 20;
inline constexpr uint8_t kNextHeaderIpv4 = 4;

// Bytes ESP adds to an inner packet of `inner_len` bytes (outer IPv4, UDP if
// encapsulated, ESP header, IV, padding to 4 bytes, trailer, ICV).
inline uint32_t esp_overhead(uint32_t inner_len, bool udp) {
  const uint32_t pad = (4 - (inner_len + 2) % 4) % 4;
  return kOuterIpv4Len + (udp ? kUdpHeaderLen : 0) + kEspHeaderLen + kGcmIvLen + pad + 2 + kGcmIcvLen;
}
// The largest inner packet that fits in `mtu` once encapsulated: its length
// plus trailer (2) rounds up to a multiple of 4.
inline uint32_t esp_inner_mtu(uint32_t mtu, bool udp) {
  const uint32_t fixed = kOuterIpv4Len + (udp ? kUdpHeaderLen : 0) + kEspHeaderLen + kGcmIvLen + kGcmIcvLen;
  return mtu < fixed + 4 ? 0 : ((mtu - fixed) & ~3u) - 2;
}

struct EspSeal {
  const GcmKey* key;
  uint32_t spi;     // network order
  uint64_t seq;     // the whole sequence number
  bool esn;         // high half in the AAD (RFC 4106 section 5)
  uint32_t src;     // outer source, network order
  uint32_t dst;     // outer destination, network order
  bool udp;         // UDP-encapsulated (RFC 3948)
  uint16_t ip_id;   // outer identification
  uint16_t dst_port = RTE_BE16(kIkeNattPort);  // UDP: the peer's port (its NAT's, behind one), network order
};

// Encapsulates and encrypts the IPv4 packet after `m`'s Ethernet header.
// kCount on success; kEspNoRoom when the mbuf has no head- or tailroom (or
// is chained). The Ethernet header moves to the front, unchanged.
DropReason esp_seal(GcmEngine& gcm, const EspSeal& p, rte_mbuf* m);

// Where the ESP header of a packet to the gateway starts (after the outer
// IPv4 header and, when UDP-encapsulated, the UDP header), and its SPI.
struct EspFrame {
  uint32_t esp_offset;  // from the start of the frame
  uint32_t spi;         // network order
};

// Verifies and decrypts the ESP packet at `f.esp_offset`, given the whole
// sequence number `seq` (inferred for ESN) and whether its high half goes in
// the AAD. On success the frame is [Ethernet][inner IPv4] and the result is
// kCount; otherwise the reason to drop (kEspMalformed, kEspAuthFailed,
// kEspNotIpv4), and the packet is left as it was or garbled.
DropReason esp_open(GcmEngine& gcm, const GcmKey& key, const EspFrame& f, uint64_t seq, bool esn, rte_mbuf* m);

}  // namespace meshplane::dataplane
