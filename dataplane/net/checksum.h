// Internet checksum helpers (RFC 1071, RFC 1624).
#pragma once

#include <cstdint>

namespace meshplane::dataplane {

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). All three values in the same byte
// order as they sit in the packet; the one's-complement sum does not care which.
inline uint16_t checksum_replace16(uint16_t old_checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~old_checksum) + static_cast<uint16_t>(~old_word) + new_word;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline uint16_t checksum_replace32(uint16_t old_checksum, uint32_t old_value, uint32_t new_value) {
  uint16_t c = checksum_replace16(old_checksum, static_cast<uint16_t>(old_value >> 16),
                                  static_cast<uint16_t>(new_value >> 16));
  return checksum_replace16(c, static_cast<uint16_t>(old_value), static_cast<uint16_t>(new_value));
}

// Several fields changed at once: collect each change as a one's-complement
// delta (~old + new, per 16-bit half), apply the sum with one fold. Same
// result as a chain of checksum_replace16, a third of the instructions.
inline uint32_t checksum_delta32(uint32_t old_value, uint32_t new_value) {
  const uint32_t inverted = ~old_value;
  return (inverted & 0xffff) + (inverted >> 16) + (new_value & 0xffff) + (new_value >> 16);
}
inline uint32_t checksum_delta16(uint16_t old_word, uint16_t new_word) {
  return static_cast<uint16_t>(~old_word) + uint32_t{new_word};
}
inline uint16_t checksum_apply(uint16_t old_checksum, uint32_t delta) {
  uint64_t sum = static_cast<uint16_t>(~old_checksum) + uint64_t{delta};
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace meshplane::dataplane
