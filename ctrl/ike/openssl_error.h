// OpenSSL's reason for its last failure, as text for an error or event
// (never key material: OpenSSL's error strings name functions and reasons).
#pragma once

#include <openssl/err.h>

#include <string>

namespace meshplane::ctrl {

// The reason, or `fallback` when OpenSSL recorded none; the error queue is cleared.
inline std::string openssl_error(const char* fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return fallback;
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

}  // namespace meshplane::ctrl
