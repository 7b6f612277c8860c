// Limits and defaults that both the policy model (config/) and the data plane
// (dataplane/) depend on, in one place: neither copies the other's. Plain
// constants only, so every layer may include this.
#pragma once

#include <cstdint>

namespace meshplane {

inline constexpr uint16_t kMaxPorts = 16;
inline constexpr uint16_t kMaxWorkers = 64;
inline constexpr uint16_t kMinMtu = 68;    // RFC 791: every host must accept 68 octets
inline constexpr uint16_t kMaxMtu = 9000;

// Destination prefixes of all authorizations together: workers scan them
// for every routed packet (longest first), so they stay few.
inline constexpr uint32_t kMaxAuthzDestinations = 256;

// Payload matching: pattern sets and patterns in a policy (each pattern
// has a counter slot in every worker), and the Hyperscan stream state one
// inspected direction may need (each worker reserves this much per
// direction of every connection it can inspect at once).
inline constexpr uint32_t kMaxPatternSets = 64;
inline constexpr uint32_t kMaxPatterns = 16384;
inline constexpr uint32_t kMaxPatternLength = 8192;
inline constexpr uint32_t kMaxInspectBytes = 1u << 20;
inline constexpr uint32_t kStreamStateBytes = 1024;

// Maglev lookup table of a service unless its policy says otherwise: a prime
// about 100 x its endpoints keeps each share within 1% (NSDI 2016).
inline constexpr uint32_t kDefaultMaglevTableSize = 65537;

// Seconds of inactivity before a tracked connection is forgotten.
struct FlowTimeoutDefaults {
  static constexpr uint32_t kTcpSyn = 5;           // SYN seen, no answer yet
  static constexpr uint32_t kTcpEstablished = 300;
  static constexpr uint32_t kTcpClosing = 10;      // after a FIN
  static constexpr uint32_t kTcpReset = 1;         // after a RST
  static constexpr uint32_t kUdp = 30;
};

}  // namespace meshplane
