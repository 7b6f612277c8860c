// The access classifier's input for one packet (dataplane/tables/access_view.h),
// read from the packet as received: a network parser, fuzzed
// (tests/fuzz/access_key_fuzz.cc).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/tables/access_view.h"

namespace meshplane::dataplane {

// The key for `m`, whose Ethernet and IPv4 headers (20 bytes at least) are
// in its first segment, from policy port `port`. Ports (or ICMP type and
// code) only when the L4 header's first 4 bytes are there and it is not a
// later fragment.
AccessKey access_key(const rte_mbuf* m, uint16_t port);

}  // namespace meshplane::dataplane
