// AES-GCM for ESP (RFC 4106) through Intel ipsec-mb's direct single-buffer
// calls, which measured fastest here for packet-sized inputs (30-42 ns at
// 64 B; the job and burst APIs cost more). One engine per thread: an
// IMB_MGR is not shared.
#pragma once

#include <cstddef>
#include <cstdint>

#include <intel-ipsec-mb.h>

namespace meshplane::dataplane {

inline constexpr size_t kGcmSaltLen = 4;   // RFC 4106 section 8.1: the key's last four bytes
inline constexpr size_t kGcmIvLen = 8;     // the explicit IV carried in each packet
inline constexpr size_t kGcmIcvLen = 16;   // this implementation's only ICV length

// A key prepared for use: AES round keys and GHASH tables, and the salt.
// Wiped when destroyed (it lives in snapshots, which are freed often).
struct alignas(64) GcmKey {
  gcm_key_data data;
  uint8_t salt[kGcmSaltLen];
  uint8_t key_bytes;  // 16 (AES-128) or 32 (AES-256)

  GcmKey() = default;
  GcmKey(const GcmKey&) = default;
  GcmKey& operator=(const GcmKey&) = default;
  ~GcmKey();
};

class GcmEngine {
 public:
  GcmEngine();  // picks the best code path this CPU has
  ~GcmEngine();
  GcmEngine(const GcmEngine&) = delete;
  GcmEngine& operator=(const GcmEngine&) = delete;
  bool ok() const { return mgr_ != nullptr; }

  // `key_and_salt`: 20 or 36 bytes, the RFC 4106 keying material. False for any other length.
  bool prepare(const uint8_t* key_and_salt, size_t len, GcmKey& out);

  // Encrypts `data` in place and writes the ICV. `iv`: the packet's 8-byte explicit IV.
  void seal(const GcmKey& key, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
            uint8_t* icv);
  // Decrypts `data` in place; true when `icv` matches (compared in constant time).
  bool open(const GcmKey& key, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
            const uint8_t* icv);

 private:
  IMB_MGR* mgr_ = nullptr;
};

// Equal in time independent of where the bytes differ.
inline bool equal_constant_time(const uint8_t* a, const uint8_t* b, size_t n) {
  uint8_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace meshplane::dataplane
