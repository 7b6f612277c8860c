// ICMP message types (RFC 792) that DPDK 22.11's rte_icmp.h does not name.
#pragma once

#include <cstdint>

namespace meshplane::dataplane {

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestUnreachable = 3;
constexpr uint8_t kIcmpSourceQuench = 4;
constexpr uint8_t kIcmpRedirect = 5;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpParameterProblem = 12;

// Destination unreachable codes.
constexpr uint8_t kIcmpNetUnreachable = 0;
constexpr uint8_t kIcmpProtocolUnreachable = 2;
constexpr uint8_t kIcmpPortUnreachable = 3;
constexpr uint8_t kIcmpFragmentationNeeded = 4;
constexpr uint8_t kIcmpAdministrativelyProhibited = 13;  // RFC 1812 section 5.2.7.1

}  // namespace meshplane::dataplane
