// Reading a fuzzer's input as the targets' parameters, shared by the targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace meshplane::fuzz {

// The next 4 bytes as a number (fewer at the end of the input), consumed.
inline uint32_t take32(const uint8_t*& data, size_t& size) {
  uint32_t v = 0;
  const size_t n = size < 4 ? size : 4;
  std::memcpy(&v, data, n);
  data += n;
  size -= n;
  return v;
}

}  // namespace meshplane::fuzz
