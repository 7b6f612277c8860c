// TCP header flag bits (RFC 793), for the stages and tables that read them.
#pragma once

#include <cstdint>

namespace meshplane::dataplane {

inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// A SYN without ACK or RST: the only segment that may start a connection.
inline bool starts_connection(uint8_t tcp_flags) { return (tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn; }

}  // namespace meshplane::dataplane
