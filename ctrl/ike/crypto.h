// The cryptography of IKEv2, all of it through OpenSSL (RFC 7296 section 2.14,
// RFC 5282, RFC 5903, RFC 7748): Diffie-Hellman shares on Curve25519 and
// P-256, the PRFs (HMAC-SHA2), prf+, the IKE SA's keys from its nonces and
// shared secret, Child SA keys, and the SK payload sealed with AES-GCM.
// Keys live in config::Secret (wiped when freed) and never reach a message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "config/model.h"
#include "ctrl/ike/message.h"

struct evp_pkey_st;

namespace meshplane::ctrl::ike {

// Random bytes (nonces, cookie secrets), a non-zero IKE SPI, and a 4-byte
// ESP SPI outside the reserved 0-255, all from OpenSSL's generator.
std::vector<uint8_t> random_bytes(size_t n);
uint64_t random_ike_spi();
std::vector<uint8_t> random_esp_spi();

// An ephemeral key pair of a DH group; its public value as a KE payload carries it.
class KeyShare {
 public:
  // Groups 31 (Curve25519) and 19 (P-256); nullopt for others.
  static std::optional<KeyShare> generate(uint16_t group);
  KeyShare(KeyShare&&) noexcept;
  KeyShare& operator=(KeyShare&&) noexcept;
  ~KeyShare();
  uint16_t group() const { return group_; }
  // 32 bytes (Curve25519) or x || y, 64 bytes (P-256, RFC 5903 section 7).
  const std::vector<uint8_t>& public_value() const { return public_; }
  // The shared secret with the peer's public value; nullopt when it is not a
  // valid point of the group (or Curve25519 gives the all-zero secret).
  std::optional<config::Secret> shared_secret(std::span<const uint8_t> peer) const;

 private:
  KeyShare(uint16_t group, evp_pkey_st* key, std::vector<uint8_t> pub);
  uint16_t group_;
  evp_pkey_st* key_;
  std::vector<uint8_t> public_;
};

// The PRF transform IDs 5, 6, 7 (HMAC-SHA-256/384/512); 0 bytes for others.
size_t prf_size(uint16_t prf);
std::vector<uint8_t> prf(uint16_t id, std::span<const uint8_t> key, std::span<const uint8_t> data);
// prf+ (RFC 7296 section 2.13): `length` bytes of T1 | T2 | ..., at most 255 blocks.
config::Secret prf_plus(uint16_t id, std::span<const uint8_t> key, std::span<const uint8_t> seed, size_t length);

// An IKE SA's keys (RFC 7296 section 2.14). With AES-GCM there are no
// integrity keys; each encryption key is followed by its 4-byte salt (RFC 5282).
struct IkeKeys {
  config::Secret sk_d, sk_ei, sk_er, sk_pi, sk_pr;
};

IkeKeys derive_ike_keys(uint16_t prf_id, size_t encr_key_bytes, std::span<const uint8_t> ni,
                        std::span<const uint8_t> nr, const config::Secret& shared, uint64_t spi_i, uint64_t spi_r);

// SKEYSEED for a rekeyed IKE SA: prf(SK_d (old), g^ir (new) | Ni | Nr).
IkeKeys derive_rekeyed_ike_keys(uint16_t prf_id, size_t encr_key_bytes, const config::Secret& old_sk_d,
                                std::span<const uint8_t> ni, std::span<const uint8_t> nr,
                                const config::Secret& shared, uint64_t spi_i, uint64_t spi_r);

// A Child SA's keys (section 2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr),
// the initiator-to-responder key (with salt) first.
struct ChildKeys {
  config::Secret initiator_to_responder, responder_to_initiator;
};
ChildKeys derive_child_keys(uint16_t prf_id, size_t key_bytes_with_salt, const config::Secret& sk_d,
                            std::span<const uint8_t> ni, std::span<const uint8_t> nr,
                            const config::Secret* shared = nullptr);

inline constexpr size_t kGcmIvSize = 8;
inline constexpr size_t kGcmIcvSize = 16;
inline constexpr size_t kGcmSaltSize = 4;

// A message whose only payload is an SK payload holding `plaintext` (a
// payload chain whose first payload is of type `first`), sealed with
// AES-GCM under `key_with_salt` (RFC 5282: the header and the SK payload's
// generic header are the associated data; IV `iv`, never repeated under one
// key; no padding).
std::vector<uint8_t> seal_message(const Header& header, uint8_t first, std::span<const uint8_t> plaintext,
                                  const config::Secret& key_with_salt, uint64_t iv);

// Opens the SK payload whose body is `body`, `aad` being the message from its
// start through the SK payload's generic header: the inner payloads, or
// nullopt when the ICV does not verify or the padding is wrong.
std::optional<std::vector<uint8_t>> open_sk(std::span<const uint8_t> aad, std::span<const uint8_t> body,
                                            const config::Secret& key_with_salt);

}  // namespace meshplane::ctrl::ike
