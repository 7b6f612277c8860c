// The responder's side of IKE_SA_INIT (RFC 7296 section 1.2): choose one of
// the initiator's proposals, check its key exchange against the group chosen
// (else INVALID_KE_PAYLOAD naming ours), demand a cookie when half-open SAs
// pile up (section 2.6), and answer with our SA, KE, nonce and NAT
// detection notifies; the IKE SA's keys follow from both nonces and the
// shared secret. Transport-free: a datagram and its addresses in, a datagram
// (and on success the new SA's state) out, so the daemon's punt path and a
// test's kernel socket drive it alike.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctrl/ike/crypto.h"
#include "ctrl/ike/message.h"
#include "ctrl/ike/payloads.h"

namespace meshplane::ctrl::ike {

// What this gateway accepts for the IKE SA, most preferred first.
struct IkePolicy {
  std::vector<uint16_t> encr_key_bits = {128, 256};  // AES-GCM-16
  std::vector<uint16_t> prfs = {kPrfHmacSha256, kPrfHmacSha384, kPrfHmacSha512};
  std::vector<uint16_t> groups = {kDhCurve25519, kDhP256};
};

// The transforms of one proposal this policy can take: its ENCR, PRF and DH.
struct Chosen {
  uint8_t number = 0;
  uint16_t encr_key_bits = 0;
  uint16_t prf = 0;
  uint16_t group = 0;
  Proposal as_proposal() const;  // for the response's SA payload
};

// The first of the initiator's proposals (its order decides, RFC 7296
// section 2.7) whose every transform type offers something we accept.
std::optional<Chosen> choose_ike_proposal(const std::vector<Proposal>& offered, const IkePolicy& policy);

struct Endpoint {
  std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  uint8_t family = 4;                 // 4 or 6
  uint16_t port = 500;
  std::span<const uint8_t> bytes() const { return {address.data(), family == 4 ? 4u : 16u}; }
};

// SHA-1(SPIi | SPIr | address | port), the NAT_DETECTION_*_IP data (section 2.23).
std::vector<uint8_t> nat_detection_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e);

// A half-open IKE SA: what the responder keeps after answering IKE_SA_INIT.
struct HalfOpen {
  uint64_t spi_i = 0, spi_r = 0;
  Chosen chosen;
  std::vector<uint8_t> ni, nr;
  std::vector<uint8_t> request, response;  // both messages as sent: the AUTH payloads sign them
  IkeKeys keys;
  bool peer_behind_nat = false;  // its NAT_DETECTION_SOURCE_IP did not match its address
  bool us_behind_nat = false;
};

// Cookies (section 2.6): a keyed hash of the initiator's nonce, address and
// SPI under a secret that changes, so an SA_INIT from a spoofed address
// costs nothing until its sender proves it can receive.
class CookieJar {
 public:
  CookieJar();
  std::vector<uint8_t> cookie(std::span<const uint8_t> ni, const Endpoint& from, uint64_t spi_i) const;
  bool valid(std::span<const uint8_t> cookie, std::span<const uint8_t> ni, const Endpoint& from, uint64_t spi_i) const;
  void rotate();  // a new secret; cookies of the one before stay valid until the next rotation

 private:
  std::vector<uint8_t> cookie_with(const config::Secret& secret, uint8_t version, std::span<const uint8_t> ni,
                                   const Endpoint& from, uint64_t spi_i) const;
  config::Secret secret_, previous_;
  uint8_t version_ = 0;
};

struct SaInitOutcome {
  std::vector<uint8_t> reply;      // empty: drop the request
  std::optional<HalfOpen> sa;      // set when the exchange completed
  std::string why;                 // when there is no SA: "no proposal chosen", "cookie required", ...
};

// Answers an IKE_SA_INIT request `m` (the datagram `raw`) from `from` to `to`.
// `demand_cookie`: too many half-open SAs, so a request without a valid
// cookie gets one to return instead of an SA.
SaInitOutcome respond_sa_init(const Message& m, std::span<const uint8_t> raw, const Endpoint& from,
                              const Endpoint& to, const IkePolicy& policy, const CookieJar& cookies,
                              bool demand_cookie);

}  // namespace meshplane::ctrl::ike
