// Outbound ESP sequence numbers reserved on disk. With manual keys the same
// key survives a restart, and AES-GCM's nonce is the sequence number: sending
// a number twice under one key gives away the key stream and the
// authentication key. So before workers may use numbers up to N, N is
// written here (fsync'd); after a restart an SA with the same SPI and key
// starts above the last N recorded. Keys are identified by a SHA-256
// fingerprint, never stored.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "config/model.h"
#include "config/status.h"

namespace meshplane::ctrl {

class SequenceStore {
 public:
  explicit SequenceStore(std::string path) : path_(std::move(path)) {}

  // Reads the file; a missing file is an empty store (the first start).
  config::Status load();
  // The highest number reserved for this SA, 0 if none.
  uint64_t reserved(uint32_t spi, const config::Secret& key) const;
  // Records `upto` durably (written to a temporary file, fsync'd, renamed over the old one).
  config::Status reserve(uint32_t spi, const config::Secret& key, uint64_t upto);
  const std::string& path() const { return path_; }

 private:
  using Fingerprint = std::array<uint8_t, 16>;
  static Fingerprint fingerprint(const config::Secret& key);
  config::Status save() const;

  std::string path_;
  std::map<std::pair<uint32_t, Fingerprint>, uint64_t> marks_;
};

}  // namespace meshplane::ctrl
