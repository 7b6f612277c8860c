#include "ctrl/ike/responder.h"

#include <algorithm>

namespace meshplane::ctrl::ike {

Responder::Responder(IkePolicy policy, AuthFor auth_for, ResponderLimits limits)
    : policy_(std::move(policy)), auth_for_(std::move(auth_for)), limits_(limits) {}

Responder::Result Responder::handle(std::span<const uint8_t> datagram, const Endpoint& from, const Endpoint& to,
                                    uint64_t now_ms) {
  const ParseResult parsed = parse(datagram);
  if (!parsed.message) return {{}, {}, std::string("malformed: ") + to_string(parsed.error)};
  const Message& m = *parsed.message;
  if (m.header.response()) return {{}, {}, "a response, and we initiated nothing"};
  if (m.header.exchange == Exchange::kIkeSaInit) return on_sa_init(m, datagram, from, to, now_ms);
  if (m.header.exchange == Exchange::kIkeAuth) return on_auth(m, datagram, from);
  return {{}, {}, "an exchange on an IKE SA we do not have"};
}

Responder::Result Responder::on_sa_init(const Message& m, std::span<const uint8_t> raw, const Endpoint& from,
                                        const Endpoint& to, uint64_t now_ms) {
  const Key key{m.header.spi_i, from.address, from.port};
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (std::ranges::equal(it->second.sa.request, raw)) return {it->second.sa.response, {}, {}};  // retransmitted
    return {{}, {}, "another IKE_SA_INIT under an SPI already in use"};
  }
  size_t& from_source = per_source_[from.address];
  if (half_open() >= limits_.half_open_max || from_source >= limits_.half_open_per_source) {
    if (from_source == 0) per_source_.erase(from.address);
    return {{}, {}, "half-open IKE SAs at their limit"};
  }
  const bool demand_cookie = half_open() >= limits_.cookie_threshold;
  SaInitOutcome o = respond_sa_init(m, raw, from, to, policy_, cookies_, demand_cookie);
  Result r{std::move(o.reply), {}, std::move(o.why)};
  if (r.refused == "cookie required") ++cookies_sent_;
  if (!o.sa) {
    if (from_source == 0) per_source_.erase(from.address);
    return r;
  }
  ++from_source;
  by_spi_r_[o.sa->spi_r] = key;
  entries_.emplace(key, Entry{std::move(*o.sa), from, now_ms, {}, {}});
  return r;
}

Responder::Result Responder::on_auth(const Message& m, std::span<const uint8_t> raw, const Endpoint& from) {
  const auto spi = by_spi_r_.find(m.header.spi_r);
  if (spi == by_spi_r_.end()) return {{}, {}, "IKE_AUTH for an IKE SA we do not have"};
  Entry& e = entries_.at(spi->second);
  if (e.sa.spi_i != m.header.spi_i || m.header.message_id != 1) return {{}, {}, "IKE_AUTH with the wrong SPI or message ID"};
  if (!e.auth_reply.empty())
    return {std::ranges::equal(e.auth_request, raw) ? e.auth_reply : std::vector<uint8_t>{}, {}, {}};
  const AuthConfig* auth = auth_for_(from);
  if (!auth) return {{}, {}, "IKE_AUTH from an address no peer has"};
  AuthOutcome o = respond_ike_auth(e.sa, m, raw, *auth, 1);
  Result r{o.reply, {}, o.refused};
  if (o.reply.empty()) return r;  // did not open: not from the initiator; keep waiting
  e.auth_request.assign(raw.begin(), raw.end());
  e.auth_reply = o.reply;
  // No longer half-open: it leaves its source's count (and stays for retransmissions).
  if (auto src = per_source_.find(e.from.address); src != per_source_.end() && --src->second == 0) per_source_.erase(src);
  ++completed_;
  if (o.child)
    r.established = Established{e.sa, from, e.sa.peer_behind_nat || e.sa.us_behind_nat, std::move(o.peer_identity),
                                std::move(*o.child)};
  return r;
}

void Responder::expire(uint64_t now_ms) {
  if (now_ms - cookie_rotated_ms_ >= limits_.cookie_secret_ms) {
    cookies_.rotate();
    cookie_rotated_ms_ = now_ms;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    // An answered IKE_AUTH stays for its retransmissions as long as a half-open SA would.
    if (now_ms - it->second.created_ms < limits_.half_open_ms) {
      ++it;
      continue;
    }
    by_spi_r_.erase(it->second.sa.spi_r);
    if (!it->second.auth_reply.empty())
      --completed_;
    else if (auto s = per_source_.find(it->second.from.address); s != per_source_.end() && --s->second == 0)
      per_source_.erase(s);
    it = entries_.erase(it);
  }
}

}  // namespace meshplane::ctrl::ike
