// Key material as operators hand it over: hex (an RFC 4106 key then its
// salt), inline or in a file that only its owner may open. Shared by the
// policy parser and meshctl. Nothing here ever repeats a key in a message.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace meshplane {

// Hex bytes ("0x" optional, whitespace around them ignored); empty on anything else.
inline std::vector<uint8_t> parse_hex_key(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty() || text.size() % 2 != 0) return {};
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    auto [ptr, ec] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, out[i], 16);
    if (ec != std::errc{} || ptr != text.data() + 2 * i + 2) {
      std::fill(out.begin(), out.end(), 0);
      return {};
    }
  }
  return out;
}

// What is wrong with `path` as a file holding a secret (`what` names it in
// the message): missing, not a regular file, or open to group or others; or empty.
inline std::string secret_file_problem(const std::string& path, const std::string& what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return what + " '" + path + "': " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return what + " '" + path + "' is not a regular file";
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return what + " '" + path + "' is open to group or others (mode " + mode +
           "); keys must be readable by their owner only (chmod 600)";
  }
  return {};
}

// Reads the hex key in `path` into `key`; returns what is wrong (a missing
// file, one open to group or others, no hex in it), or empty.
inline std::string read_key_file(const std::string& path, std::vector<uint8_t>& key) {
  if (auto problem = secret_file_problem(path, "key_file"); !problem.empty()) return problem;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string contents = text.str();
  key = parse_hex_key(contents);
  std::fill(contents.begin(), contents.end(), '\0');
  if (key.empty()) return "key_file '" + path + "' does not hold a hex key (key and salt, 0x optional)";
  return {};
}

}  // namespace meshplane
