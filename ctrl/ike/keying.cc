#include "ctrl/ike/keying.h"

#include <algorithm>
#include <cstring>

#include "config/address.h"

namespace meshplane::ctrl::ike {
namespace {

// Two IKE SAs with one peer: a simultaneous start, or the peer restarted and
// came back. Within this long of the first, both sides keep the SA with the
// larger SPIi (an order both see alike); after it, the newer wins.
constexpr uint64_t kDuplicateWindowMs = 10'000;

// A rekeyed IKE SA whose delete goes unanswered is dropped after this.
constexpr uint64_t kRetiringMs = 30'000;

std::string address_text(const Endpoint& e) {
  return config::ipv4_to_string(static_cast<uint32_t>(be_value(e.bytes())));
}

}  // namespace

Keying::Keying(KeyingSettings settings, std::string local_id, const Credentials* credentials,
               const TrustStore* trust)
    : settings_(std::move(settings)), local_id_(std::move(local_id)), credentials_(credentials), trust_(trust),
      responder_(settings_.policy, [this](const Endpoint& from) -> const AuthConfig* {
        Peer* p = peer_at(from);
        return p ? &p->setup.auth : nullptr;
      }, settings_.limits) {}

uint64_t Keying::random_ms(uint64_t n) {
  uint32_t r = 0;
  const auto b = random_bytes(sizeof r);
  std::memcpy(&r, b.data(), sizeof r);
  return n ? r % n : 0;
}

uint64_t Keying::jittered(uint64_t ms) { return ms - random_ms(ms / 10); }  // 90-100% of it

Keying::Peer* Keying::peer_at(const Endpoint& remote) {
  for (auto& [name, p] : peers_)
    if (std::equal(remote.address.begin(), remote.address.begin() + 4, p.setup.remote.address.begin())) return &p;
  return nullptr;
}

void Keying::set_peers(std::vector<PeerSetup> peers, uint64_t now_ms, Output& out) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    const bool stays = std::any_of(peers.begin(), peers.end(), [&](const PeerSetup& s) {
      return s.name == it->first && s.remote.address == it->second.setup.remote.address;
    });
    if (stays) {
      ++it;
      continue;
    }
    if (it->second.sa) {
      IkeSa::Out o;
      it->second.sa->close(now_ms, o);
      for (auto& bytes : o.send) out.send.push_back({it->second.setup.local, it->second.sending_to, std::move(bytes)});
      out.changed.insert(it->first);
      out.events.push_back({"ike_down", it->first + ": no longer a peer; IKE SA deleted"});
    }
    it = peers_.erase(it);
  }
  for (auto& s : peers) {
    s.auth.local_id = local_id_;
    s.auth.credentials = credentials_;
    s.auth.trust = trust_;
    auto [it, fresh] = peers_.try_emplace(s.name);
    Peer& p = it->second;
    p.setup = std::move(s);  // assigned in place: IKE SAs keep referring to p.setup.auth
    if (fresh) {
      p.sending_to = s.remote;
      p.retry_delay_ms = settings_.retry_ms;
      if (p.setup.initiate) start(p, now_ms, out);
    }
  }
}

void Keying::send(Peer& p, std::vector<uint8_t> bytes, Output& out) {
  Endpoint from = p.setup.local;
  from.port = p.sending_to.port == kNattPort ? kNattPort : kIkePort;
  out.send.push_back({from, p.sending_to, std::move(bytes)});
}

void Keying::start(Peer& p, uint64_t now_ms, Output& out) {
  p.initiator = std::make_unique<Initiator>(settings_.policy, p.setup.auth, p.setup.local, p.setup.remote);
  p.sending_to = p.setup.remote;
  p.last_request = p.initiator->start();
  p.request_tries = 0;
  p.request_next_ms = now_ms + settings_.timing.retransmit_ms;
  send(p, p.last_request, out);
}

void Keying::on_datagram(std::span<const uint8_t> bytes, const Endpoint& from, const Endpoint& to, uint64_t now_ms,
                         Output& out) {
  const ParseResult parsed = parse(bytes);
  if (!parsed.message) return;
  const Header& h = parsed.message->header;
  // IKE_SA_INIT and IKE_AUTH requests are the responder's, retransmissions
  // included (it answers those from cache, also once the IKE SA is up).
  const bool setup_request =
      !h.response() && (h.exchange == Exchange::kIkeSaInit || h.exchange == Exchange::kIkeAuth);
  // An established (or retiring) IKE SA of a peer.
  for (auto& [name, p] : peers_) {
    if (setup_request) break;  // not an exchange of an established IKE SA
    std::vector<IkeSa*> sas;
    if (p.sa) sas.push_back(p.sa.get());
    for (auto& r : p.retiring) sas.push_back(r.get());
    for (IkeSa* sa : sas)
      if (sa->spi_i() == h.spi_i && sa->spi_r() == h.spi_r && h.spi_r != 0) {
        IkeSa::Out o;
        sa->on_message(*parsed.message, bytes, now_ms, o);
        apply(p, *sa, o, now_ms, out);
        return;
      }
  }
  // The answer to an IKE_SA_INIT or IKE_AUTH we sent.
  if (h.response()) {
    Peer* p = peer_at(from);
    if (!p || !p->initiator) return;
    Initiator::Step step = p->initiator->on_response(*parsed.message, bytes);
    if (!step.failed.empty()) {
      p->initiator.reset();
      lost(*p, "could not establish: " + step.failed, now_ms, out);
      return;
    }
    if (step.child) {
      const HalfOpen sa = *p->initiator->sa();
      const bool natt = p->initiator->float_to_4500();
      p->initiator.reset();
      established(*p, std::make_unique<IkeSa>(sa, true, settings_.policy, p->setup.auth, settings_.timing, now_ms),
                  std::move(*step.child), natt, step.peer_identity, p->sending_to, now_ms, out);
      return;
    }
    if (!step.send.empty()) {
      if (p->initiator->float_to_4500()) p->sending_to.port = kNattPort;  // IKE_AUTH onwards (RFC 3948)
      p->last_request = std::move(step.send);
      p->request_tries = 0;
      p->request_next_ms = now_ms + settings_.timing.retransmit_ms;
      send(*p, p->last_request, out);
    }
    return;
  }
  // A new IKE SA, the peer initiating.
  Responder::Result r = responder_.handle(bytes, from, to, now_ms);
  if (!r.reply.empty()) out.send.push_back({to, from, std::move(r.reply)});
  Peer* p = peer_at(from);
  if (!r.refused.empty() && h.exchange == Exchange::kIkeAuth)
    out.events.push_back({"ike_refused", (p ? p->setup.name : address_text(from)) + ": " + r.refused});
  if (r.established && p) {
    Established& e = *r.established;
    if (p->initiator) p->initiator.reset();  // theirs is up first: ours is dropped
    established(*p, std::make_unique<IkeSa>(e.sa, false, settings_.policy, p->setup.auth, settings_.timing, now_ms),
                std::move(e.child), e.natt, e.peer_identity, from, now_ms, out);
  }
}

void Keying::established(Peer& p, std::unique_ptr<IkeSa> sa, ChildSa child, bool natt, const std::string& identity,
                         const Endpoint& remote, uint64_t now_ms, Output& out) {
  if (p.sa) {
    // Keep one: a simultaneous start keeps the larger SPIi on both sides; a later one replaces the old.
    const bool race = now_ms - p.established_ms < kDuplicateWindowMs;
    if (race && p.sa->spi_i() > sa->spi_i()) {
      IkeSa::Out o;
      sa->adopt_children({std::move(child)});
      sa->close(now_ms, o);
      for (auto& bytes : o.send) send(p, std::move(bytes), out);
      out.events.push_back({"ike_duplicate", p.setup.name + ": a second IKE SA at once; the other one stays"});
      return;
    }
    IkeSa::Out o;
    p.sa->close(now_ms, o);
    for (auto& bytes : o.send) send(p, std::move(bytes), out);
    out.events.push_back({"ike_replaced", p.setup.name + ": a new IKE SA replaces the one before"});
  }
  sa->adopt_children({std::move(child)});
  p.sa = std::move(sa);
  p.sending_to = remote;
  p.natt = natt;
  p.identity = identity;
  p.why.clear();
  p.established_ms = p.last_rekey_ms = now_ms;
  p.retry_delay_ms = settings_.retry_ms;
  schedule_rekeys(p, now_ms);
  out.changed.insert(p.setup.name);
  out.events.push_back({"ike_up", p.setup.name + ": IKE SA and Child SA up with " + identity +
                                      (p.sa->initiator() ? " (we initiated)" : " (it initiated)") +
                                      (natt ? ", ESP in UDP 4500" : "")});
}

void Keying::schedule_rekeys(Peer& p, uint64_t now_ms) {
  p.next_child_rekey_ms = now_ms + jittered(settings_.child_rekey_ms);
  p.next_ike_rekey_ms = now_ms + jittered(settings_.ike_rekey_ms);
  p.next_liveness_ms = now_ms + settings_.liveness_ms;
}

void Keying::apply(Peer& p, IkeSa& sa, IkeSa::Out& o, uint64_t now_ms, Output& out) {
  for (auto& bytes : o.send) send(p, std::move(bytes), out);
  if (!o.up.empty() || !o.down.empty()) out.changed.insert(p.setup.name);
  if (!o.up.empty() && sa.children().size() > 1) {
    p.last_rekey_ms = now_ms;
    p.next_child_rekey_ms = now_ms + jittered(settings_.child_rekey_ms);  // either side's rekey restarts the clock
  }
  for (auto& e : o.events) out.events.push_back({"ike", p.setup.name + ": " + e});
  if (o.ike_rekey_refused) p.next_ike_rekey_ms = now_ms + 1'000 + random_ms(4'000);
  if (o.successor && &sa == p.sa.get()) {
    p.retiring.push_back(std::move(p.sa));
    p.sa = std::move(o.successor);
    p.next_ike_rekey_ms = now_ms + jittered(settings_.ike_rekey_ms);
    return;
  }
  if (o.closed && &sa == p.sa.get()) {
    p.sa.reset();
    lost(p, o.events.empty() ? "closed" : o.events.back(), now_ms, out);
  }
}

void Keying::lost(Peer& p, const std::string& why, uint64_t now_ms, Output& out) {
  out.changed.insert(p.setup.name);
  p.why = why;
  out.events.push_back({"ike_down", p.setup.name + ": " + why});
  if (!p.setup.initiate) return;  // it comes back when the peer does
  p.retry_at_ms = now_ms + p.retry_delay_ms;
  p.retry_delay_ms = std::min(p.retry_delay_ms * 2, settings_.retry_max_ms);
}

void Keying::traffic_waiting(uint64_t now_ms) {
  for (auto& [name, p] : peers_)
    if (!p.sa && !p.initiator && p.setup.initiate && p.retry_at_ms > now_ms) p.retry_at_ms = now_ms;
}

void Keying::tick(uint64_t now_ms, Output& out) {
  responder_.expire(now_ms);
  for (auto& [name, p] : peers_) {
    if (p.initiator && now_ms >= p.request_next_ms) {
      if (p.request_tries >= settings_.timing.retransmits) {
        p.initiator.reset();
        lost(p, "no answer from " + address_text(p.setup.remote), now_ms, out);
      } else {
        ++p.request_tries;
        p.request_next_ms = now_ms + (settings_.timing.retransmit_ms << p.request_tries);
        send(p, p.last_request, out);
      }
    }
    if (!p.sa && !p.initiator && p.setup.initiate && p.retry_at_ms && now_ms >= p.retry_at_ms) {
      p.retry_at_ms = 0;
      start(p, now_ms, out);
    }
    for (auto it = p.retiring.begin(); it != p.retiring.end();) {
      IkeSa::Out o;
      (*it)->tick(now_ms, o);
      for (auto& bytes : o.send) send(p, std::move(bytes), out);
      if (o.closed || now_ms - (*it)->last_heard_ms() > kRetiringMs)
        it = p.retiring.erase(it);
      else
        ++it;
    }
    if (!p.sa) continue;
    IkeSa::Out o;
    IkeSa& sa = *p.sa;
    sa.tick(now_ms, o);
    if (!o.closed) {
      if (now_ms >= p.next_ike_rekey_ms) {
        p.next_ike_rekey_ms = now_ms + jittered(settings_.ike_rekey_ms);
        sa.rekey_ike(now_ms, o);
      } else if (now_ms >= p.next_child_rekey_ms) {
        p.next_child_rekey_ms = now_ms + jittered(settings_.child_rekey_ms);
        sa.rekey_child(now_ms, o);
      } else if (now_ms >= p.next_liveness_ms) {
        p.next_liveness_ms = now_ms + settings_.liveness_ms;
        if (now_ms - sa.last_heard_ms() >= settings_.liveness_ms) sa.check_liveness(now_ms, o);
      }
    }
    apply(p, sa, o, now_ms, out);
  }
}

void Keying::shutdown(uint64_t now_ms, Output& out) {
  for (auto& [name, p] : peers_)
    if (p.sa) {
      IkeSa::Out o;
      p.sa->close(now_ms, o);
      for (auto& bytes : o.send) send(p, std::move(bytes), out);
      p.sa.reset();
      out.changed.insert(name);
    }
}

std::vector<ChildSa> Keying::children(const std::string& peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.sa) return {};
  return it->second.sa->children();
}

bool Keying::natt(const std::string& peer) const {
  const auto it = peers_.find(peer);
  return it != peers_.end() && it->second.natt;
}

Endpoint Keying::remote(const std::string& peer) const {
  const auto it = peers_.find(peer);
  return it == peers_.end() ? Endpoint{} : it->second.sending_to;
}

std::vector<PeerStatus> Keying::status() const {
  std::vector<PeerStatus> out;
  for (const auto& [name, p] : peers_) {
    PeerStatus s;
    s.name = name;
    s.why = p.why;
    if (p.sa) {
      s.state = "established";
      s.identity = p.identity;
      s.spi_i = p.sa->spi_i();
      s.spi_r = p.sa->spi_r();
      s.initiator = p.sa->initiator();
      s.natt = p.natt;
      for (const auto& c : p.sa->children()) s.children.push_back({c.spi_in, c.spi_out});
      s.established_ms = p.established_ms;
      s.last_rekey_ms = p.last_rekey_ms;
      s.next_rekey_ms = std::min(p.next_child_rekey_ms, p.next_ike_rekey_ms);
      s.retransmissions = p.sa->retransmissions();
    } else {
      s.state = p.initiator ? "connecting" : p.setup.initiate ? "down, retrying" : "down, waiting for the peer";
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace meshplane::ctrl::ike
