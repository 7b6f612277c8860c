// Small arithmetic both the policy checks (config/) and the table builders
// (ctrl/) need, and number parsing they share with meshctl.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace meshplane {

// Trial division: table sizes are checked once per policy change.
constexpr bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; static_cast<uint64_t>(d) * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// An unsigned number as operators write it (SPIs): decimal, or hex after
// "0x". False on anything else, including a number too large for T.
template <typename T>
bool parse_number(std::string_view text, T& out) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const char* first = text.data() + (hex ? 2 : 0);
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, out, hex ? 16 : 10);
  return ec == std::errc{} && end == last && first != last;
}

}  // namespace meshplane
