// Sizes of the data plane's fixed arrays (the shared limits are in common/limits.h).
#pragma once

#include <cstdint>

#include "common/limits.h"

namespace meshplane::dataplane {

using meshplane::kMaxPorts;
using meshplane::kMaxWorkers;
constexpr uint16_t kRxBurst = 32;   // DPDK l3fwd's MAX_PKT_BURST
constexpr uint16_t kTxBurst = 64;   // one rx burst plus injected packets fit without a mid-burst flush
constexpr uint32_t kIcmpQuoteLimit = 576;  // RFC 1812 4.3.2.3: error datagram at most 576 octets

}  // namespace meshplane::dataplane
