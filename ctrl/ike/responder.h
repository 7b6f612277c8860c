// The responder's IKE SAs in one place, bounded for a gateway facing the
// Internet (RFC 7296 sections 2.1, 2.6): half-open SAs (answered
// IKE_SA_INIT, no IKE_AUTH yet) are capped globally and per source address
// and expire; past a threshold of half-open SAs every new IKE_SA_INIT must
// return a cookie first, so a flood from spoofed addresses costs a hash per
// packet and no state; a retransmitted request gets the answer it got before
// (no new state, no new keys). Established SAs are handed to the caller.
// Transport-free: datagrams and a clock in, answers out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ctrl/ike/ike_auth.h"

namespace meshplane::ctrl::ike {

struct ResponderLimits {
  size_t half_open_max = 4096;       // beyond: IKE_SA_INIT dropped
  size_t half_open_per_source = 32;  // per source address
  size_t cookie_threshold = 256;     // half-open SAs from which cookies are demanded
  uint64_t half_open_ms = 30'000;    // an IKE_SA_INIT answered and no IKE_AUTH within this: forgotten
  uint64_t cookie_secret_ms = 60'000;  // the cookie secret changes this often
};

struct Established {
  HalfOpen sa;  // the IKE SA: SPIs, transforms, nonces, keys
  Endpoint peer;
  bool natt = false;  // a NAT between us (or forced): ESP in UDP 4500
  std::string peer_identity;
  ChildSa child;
};

class Responder {
 public:
  // The authentication an IKE_AUTH from `from` must pass (the peer configured
  // at that address); null: nobody there, refused.
  using AuthFor = std::function<const AuthConfig*(const Endpoint& from)>;
  Responder(IkePolicy policy, AuthFor auth_for, ResponderLimits limits = {});
  Responder(IkePolicy policy, const AuthConfig& auth, ResponderLimits limits = {})
      : Responder(std::move(policy), [&auth](const Endpoint&) { return &auth; }, limits) {}

  struct Result {
    std::vector<uint8_t> reply;  // empty: nothing to send
    std::optional<Established> established;
    std::string refused;         // why a request was dropped or refused (for events and counters)
  };
  // A datagram (without a non-ESP marker) from `from` to `to` at `now_ms`.
  Result handle(std::span<const uint8_t> datagram, const Endpoint& from, const Endpoint& to, uint64_t now_ms);
  // Forgets half-open SAs past their time and rotates the cookie secret when due.
  void expire(uint64_t now_ms);

  // IKE SAs answered in IKE_SA_INIT and waiting for IKE_AUTH.
  size_t half_open() const { return entries_.size() - completed_; }
  uint64_t cookies_sent() const { return cookies_sent_; }

 private:
  using Key = std::tuple<uint64_t, std::array<uint8_t, 16>, uint16_t>;  // SPIi, source address, port
  struct Entry {
    HalfOpen sa;
    Endpoint from;
    uint64_t created_ms;
    std::vector<uint8_t> auth_request, auth_reply;  // a completed IKE_AUTH, for its retransmissions
  };
  Result on_sa_init(const Message& m, std::span<const uint8_t> raw, const Endpoint& from, const Endpoint& to,
                    uint64_t now_ms);
  Result on_auth(const Message& m, std::span<const uint8_t> raw, const Endpoint& from);

  IkePolicy policy_;
  AuthFor auth_for_;
  ResponderLimits limits_;
  CookieJar cookies_;
  uint64_t cookie_rotated_ms_ = 0;
  std::map<Key, Entry> entries_;  // half-open, and completed ones kept for IKE_AUTH retransmissions
  size_t completed_ = 0;
  std::map<uint64_t, Key> by_spi_r_;
  std::map<std::array<uint8_t, 16>, size_t> per_source_;
  uint64_t cookies_sent_ = 0;
};

}  // namespace meshplane::ctrl::ike
