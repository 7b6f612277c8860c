#pragma once

#include <cstdint>

namespace meshplane::dataplane {

constexpr uint16_t kMaxPorts = 16;
constexpr uint16_t kMaxWorkers = 64;
constexpr uint16_t kRxBurst = 32;   // DPDK l3fwd's MAX_PKT_BURST
constexpr uint16_t kTxBurst = 64;   // one rx burst plus injected packets fit without a mid-burst flush
constexpr uint32_t kIcmpQuoteLimit = 576;  // RFC 1812 4.3.2.3: error datagram at most 576 octets

}  // namespace meshplane::dataplane
