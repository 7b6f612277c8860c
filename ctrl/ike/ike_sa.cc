#include "ctrl/ike/ike_sa.h"

#include <fmt/format.h>

#include <algorithm>

namespace meshplane::ctrl::ike {
namespace {

bool offers_group(const Proposal& p, uint16_t group) {
  return std::any_of(p.transforms.begin(), p.transforms.end(),
                     [&](const Transform& t) { return t.type == TransformType::kDh && t.id == group; });
}

bool offers_pfs(const Proposal& p) {
  return std::any_of(p.transforms.begin(), p.transforms.end(),
                     [](const Transform& t) { return t.type == TransformType::kDh && t.id != 0; });
}

std::string hex(std::span<const uint8_t> b) { return fmt::format("0x{:02x}", fmt::join(b, "")); }

}  // namespace

IkeSa::IkeSa(HalfOpen sa, bool initiator, const IkePolicy& policy, const AuthConfig& auth, ExchangeTiming timing,
             uint64_t now_ms, bool rekeyed)
    : sa_(std::move(sa)), initiator_(initiator), policy_(policy), auth_(auth), timing_(timing),
      next_id_(rekeyed ? 0 : initiator ? 2 : 0), peer_id_(rekeyed ? 0 : initiator ? 0 : 2),
      iv_(rekeyed ? 1 : 2), last_heard_ms_(now_ms) {}

std::vector<uint8_t> IkeSa::seal(Exchange exchange, bool response, uint32_t id, MessageWriter& w) {
  Header h;
  h.spi_i = sa_.spi_i;
  h.spi_r = sa_.spi_r;
  h.exchange = exchange;
  h.flags = static_cast<uint8_t>((initiator_ ? kFlagInitiator : 0) | (response ? kFlagResponse : 0));
  h.message_id = id;
  const uint8_t first = w.first_type();
  return seal_message(h, first, w.finish(), initiator_ ? sa_.keys.sk_ei : sa_.keys.sk_er, iv_++);
}

std::optional<std::vector<Payload>> IkeSa::open(const Message& m, std::span<const uint8_t> raw,
                                                std::vector<uint8_t>& plain) {
  if (m.payloads.empty() || m.payloads.back().type != static_cast<uint8_t>(PayloadType::kSk)) return std::nullopt;
  if (m.header.from_initiator() == initiator_) return std::nullopt;  // our own role: reflected, or forged
  const Payload& sk = m.payloads.back();
  auto opened = open_sk(raw.first(static_cast<size_t>(sk.body.data() - raw.data())), sk.body,
                        initiator_ ? sa_.keys.sk_er : sa_.keys.sk_ei);
  if (!opened) return std::nullopt;
  plain = std::move(*opened);
  std::vector<Payload> inner;
  ParseError error;
  uint8_t critical = 0;
  if (!parse_chain(plain, sk.next, inner, error, critical)) return std::nullopt;
  return inner;
}

void IkeSa::on_message(const Message& m, std::span<const uint8_t> raw, uint64_t now_ms, Out& out) {
  if (closed_) return;
  if (!m.header.response()) {
    if (m.header.message_id + 1 == peer_id_ && std::ranges::equal(raw, last_request_)) {
      out.send.push_back(last_response_);  // retransmitted: the same answer, nothing done twice
      return;
    }
    if (m.header.message_id != peer_id_) return;  // outside the window of one
  } else if (!pending_ || m.header.message_id != pending_->id) {
    return;
  }
  std::vector<uint8_t> plain;
  const auto inner = open(m, raw, plain);
  if (!inner) return;  // not from the peer
  last_heard_ms_ = now_ms;
  if (m.header.response()) {
    on_response(*inner, now_ms, out);
    if (!closed_) send_next(now_ms, out);
    return;
  }
  ++peer_id_;
  last_request_.assign(raw.begin(), raw.end());
  on_request(m, *inner, now_ms, out);
}

void IkeSa::on_request(const Message& m, const std::vector<Payload>& inner, uint64_t now_ms, Out& out) {
  MessageWriter w;
  if (m.header.exchange == Exchange::kCreateChildSa) {
    std::vector<Proposal> offered;
    std::string error;
    const Payload* sa = find_payload(inner, PayloadType::kSa);
    if (sa && read_sa(sa->body, offered, error) && !offered.empty() && offered[0].protocol == Protocol::kIke)
      answer_rekey_ike(offered[0], inner, w, out);
    else
      answer_create_child(inner, w, out);
  } else if (m.header.exchange == Exchange::kInformational) {
    answer_informational(inner, w, out);
  } else {
    write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidSyntax));
  }
  last_response_ = seal(m.header.exchange, true, m.header.message_id, w);
  out.send.push_back(last_response_);
  if (closed_) return;
  send_next(now_ms, out);
}

// The peer creates a Child SA, or rekeys one (REKEY_SA names its old inbound SPI, our outbound).
void IkeSa::answer_create_child(const std::vector<Payload>& inner, MessageWriter& w, Out& out) {
  std::string error;
  std::vector<Proposal> offered;
  std::vector<TrafficSelector> ts_i, ts_r;
  const Payload *sa = find_payload(inner, PayloadType::kSa), *nonce = find_payload(inner, PayloadType::kNonce),
                *tsi = find_payload(inner, PayloadType::kTsi), *tsr = find_payload(inner, PayloadType::kTsr),
                *ke = find_payload(inner, PayloadType::kKe);
  const auto rekey = find_notify(inner, NotifyType::kRekeySa);
  auto refuse = [&](NotifyType type, std::string why) {
    write_notify(w, static_cast<uint16_t>(type));
    out.events.push_back("refused the peer's CREATE_CHILD_SA: " + why);
  };
  if (!sa || !nonce || !tsi || !tsr || !read_sa(sa->body, offered, error) || !read_ts(tsi->body, ts_i, error) ||
      !read_ts(tsr->body, ts_r, error) || nonce->body.size() < 16)
    return refuse(NotifyType::kInvalidSyntax, "SA, nonce or traffic selectors missing");
  const ChildSa* old = rekey ? child_by_out(rekey->spi) : nullptr;
  if (rekey && !old) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kChildSaNotFound), {}, static_cast<uint8_t>(Protocol::kEsp),
                 rekey->spi);
    out.events.push_back("the peer rekeys a Child SA we do not have (" + hex(rekey->spi) + ")");
    return;
  }
  uint16_t bits = 0;
  bool esn = false;
  auto chosen = choose_esp(offered, auth_.esp_key_bits, bits, esn);
  if (!chosen) return refuse(NotifyType::kNoProposalChosen, "no ESP proposal we take");
  const Proposal& theirs =
      *std::find_if(offered.begin(), offered.end(), [&](const Proposal& p) { return p.number == chosen->number; });
  // PFS: the group of their KE, if the proposal offers it and we take it.
  std::optional<KeyShare> share;
  std::optional<config::Secret> shared;
  if (offers_pfs(theirs)) {
    const auto k = ke ? read_ke(ke->body, error) : std::nullopt;
    if (!k || !offers_group(theirs, k->group) ||
        std::find(policy_.groups.begin(), policy_.groups.end(), k->group) == policy_.groups.end()) {
      const uint16_t ours = policy_.groups.front();
      if (offers_group(theirs, ours)) {
        write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidKePayload), be_bytes(ours, 2));
        out.events.push_back("asked the peer's CREATE_CHILD_SA for another DH group");
        return;
      }
      return refuse(NotifyType::kNoProposalChosen, "no DH group we take for PFS");
    }
    share = KeyShare::generate(k->group);
    shared = share->shared_secret(k->data);
    if (!shared) return refuse(NotifyType::kInvalidSyntax, "its KE is not a point of its group");
    chosen->transforms.insert(chosen->transforms.end() - 1, Transform{TransformType::kDh, k->group});
  }
  auto remote = narrow(ts_i, auth_.remote_ts), local = narrow(ts_r, auth_.local_ts);
  if (remote.empty() || local.empty()) return refuse(NotifyType::kTsUnacceptable, "traffic selectors outside ours");
  const auto nr = random_bytes(32);
  write_sa(w, {*chosen});
  write_nonce(w, nr);
  if (share) write_ke(w, share->group(), share->public_value());
  write_ts(w, PayloadType::kTsi, remote);
  write_ts(w, PayloadType::kTsr, local);
  const std::vector<uint8_t> ni(nonce->body.begin(), nonce->body.end());
  ChildKeys keys =
      derive_child_keys(sa_.chosen.prf, bits / 8 + kGcmSaltSize, sa_.keys.sk_d, ni, nr, shared ? &*shared : nullptr);
  ChildSa child{chosen->spi, theirs.spi, bits, esn, std::move(keys.initiator_to_responder),
                std::move(keys.responder_to_initiator), std::move(local), std::move(remote), !old};
  // Our own rekey of the same Child SA is out: remember this one's lower nonce (section 2.8.1).
  if (old && pending_ && pending_->intent == Intent::kRekeyChild && pending_->old_spi == old->spi_in) {
    their_rekey_low_nonce_ = std::min(ni, nr);
    their_rekey_spi_ = child.spi_in;
    their_rekey_old_spi_ = old->spi_in;
  }
  out.events.push_back(old ? "the peer rekeyed Child SA " + hex(old->spi_in) + ": now " + hex(child.spi_in) +
                                 (shared ? " (PFS)" : "")
                           : "the peer created Child SA " + hex(child.spi_in));
  children_.push_back(child);
  out.up.push_back(std::move(child));
}

// The peer rekeys the IKE SA (section 2.18): a new SA with fresh SPIs, keys
// from the old SK_d and a new DH secret; its initiator is the one who asked.
void IkeSa::answer_rekey_ike(const Proposal& offered, const std::vector<Payload>& inner, MessageWriter& w, Out& out) {
  std::string error;
  if (pending_ && pending_->intent == Intent::kRekeyIke) {
    // Both sides rekey the IKE SA at once: both refuse, and each tries again
    // after its own random delay (a simpler settlement than section 2.8.2's nonces).
    write_notify(w, static_cast<uint16_t>(NotifyType::kTemporaryFailure));
    out.events.push_back("IKE SA rekey collision: both try again");
    return;
  }
  const Payload *nonce = find_payload(inner, PayloadType::kNonce), *ke = find_payload(inner, PayloadType::kKe);
  Proposal without_spi = offered;
  without_spi.spi.clear();
  const auto chosen = choose_ike_proposal({without_spi}, policy_);
  const auto k = ke ? read_ke(ke->body, error) : std::nullopt;
  if (!nonce || nonce->body.size() < 16 || offered.spi.size() != 8 || !k) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidSyntax));
    return;
  }
  if (!chosen) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kNoProposalChosen));
    out.events.push_back("refused the peer's IKE SA rekey: no proposal we take");
    return;
  }
  if (k->group != chosen->group) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidKePayload), be_bytes(chosen->group, 2));
    return;
  }
  auto share = KeyShare::generate(chosen->group);
  const auto shared = share->shared_secret(k->data);
  if (!shared) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidSyntax));
    return;
  }
  HalfOpen next;
  next.spi_i = be_value(offered.spi);
  next.spi_r = random_ike_spi();
  next.chosen = *chosen;
  next.ni.assign(nonce->body.begin(), nonce->body.end());
  next.nr = random_bytes(32);
  next.keys = derive_rekeyed_ike_keys(chosen->prf, chosen->encr_key_bits / 8, sa_.keys.sk_d, next.ni, next.nr, *shared,
                                      next.spi_i, next.spi_r);
  Proposal answer = chosen->as_proposal();
  answer.spi = be_bytes(next.spi_r, 8);
  write_sa(w, {answer});
  write_nonce(w, next.nr);
  write_ke(w, share->group(), share->public_value());
  out.successor = std::make_unique<IkeSa>(std::move(next), false, policy_, auth_, timing_, last_heard_ms_, true);
  out.successor->adopt_children(std::move(children_));
  children_.clear();
  out.events.push_back("the peer rekeyed the IKE SA");
}

void IkeSa::answer_informational(const std::vector<Payload>& inner, MessageWriter& w, Out& out) {
  std::string error;
  std::vector<std::vector<uint8_t>> ours;
  for (const auto& p : inner) {
    if (p.type != static_cast<uint8_t>(PayloadType::kDelete)) continue;
    const auto d = read_delete(p.body, error);
    if (!d) continue;
    if (d->protocol == Protocol::kIke) {
      end("the peer deleted the IKE SA", out);
      return;  // answered empty (section 1.4.1)
    }
    for (const auto& spi : d->spis)
      if (const ChildSa* c = child_by_out(spi)) {
        ours.push_back(c->spi_in);
        out.events.push_back("the peer deleted Child SA " + hex(c->spi_in));
      }
  }
  for (const auto& spi : ours) drop_child(spi, out);
  if (!ours.empty()) write_delete(w, Protocol::kEsp, ours);
}

void IkeSa::on_response(const std::vector<Payload>& inner, uint64_t now_ms, Out& out) {
  switch (pending_->intent) {
    case Intent::kLiveness:
      break;
    case Intent::kDeleteChild:
      drop_child(pending_->spi, out);  // the peer's half went with its answer
      break;
    case Intent::kDeleteIke:
      end("deleted the IKE SA", out);
      return;
    case Intent::kRekeyChild:
      finish_rekey_child(inner, out);
      break;
    case Intent::kRekeyIke:
      finish_rekey_ike(inner, now_ms, out);
      break;
  }
  pending_.reset();
}

void IkeSa::finish_rekey_child(const std::vector<Payload>& inner, Out& out) {
  const Pending& p = *pending_;
  if (auto e = find_error_notify(inner)) {
    out.events.push_back("the peer refused our Child SA rekey: error notify " + std::to_string(*e));
    return;  // the old one carries on; the next rekey tries again
  }
  std::string error;
  std::vector<Proposal> chosen;
  std::vector<TrafficSelector> ts_i, ts_r;
  const Payload *sa = find_payload(inner, PayloadType::kSa), *nonce = find_payload(inner, PayloadType::kNonce),
                *ke = find_payload(inner, PayloadType::kKe), *tsi = find_payload(inner, PayloadType::kTsi),
                *tsr = find_payload(inner, PayloadType::kTsr);
  if (!sa || !nonce || !tsi || !tsr || !read_sa(sa->body, chosen, error) || chosen.size() != 1 ||
      chosen[0].spi.size() != 4 || !read_ts(tsi->body, ts_i, error) || !read_ts(tsr->body, ts_r, error)) {
    out.events.push_back("the peer's answer to our Child SA rekey is incomplete");
    return;
  }
  const auto encr = std::find_if(chosen[0].transforms.begin(), chosen[0].transforms.end(),
                                 [](const Transform& t) { return t.type == TransformType::kEncr; });
  const auto k = ke ? read_ke(ke->body, error) : std::nullopt;
  const auto shared = k && k->group == p.share->group() ? p.share->shared_secret(k->data) : std::nullopt;
  if (encr == chosen[0].transforms.end() || encr->id != kEncrAesGcm16 ||
      std::find(auth_.esp_key_bits.begin(), auth_.esp_key_bits.end(), encr->key_bits) == auth_.esp_key_bits.end() ||
      narrow(ts_i, auth_.local_ts) != ts_i || narrow(ts_r, auth_.remote_ts) != ts_r || !shared) {
    out.events.push_back("the peer's answer to our Child SA rekey chose what we did not offer, or no PFS");
    return;
  }
  const std::vector<uint8_t> nr(nonce->body.begin(), nonce->body.end());
  ChildKeys keys = derive_child_keys(sa_.chosen.prf, encr->key_bits / 8 + kGcmSaltSize, sa_.keys.sk_d, p.nonce, nr,
                                     &*shared);
  ChildSa child{p.spi, chosen[0].spi, encr->key_bits, false, std::move(keys.responder_to_initiator),
                std::move(keys.initiator_to_responder), std::move(ts_i), std::move(ts_r)};
  children_.push_back(child);
  out.up.push_back(std::move(child));
  // Section 2.8.1: when the peer rekeyed the same Child SA meanwhile, the SA
  // made with the lowest of the four nonces is redundant and its maker deletes it.
  if (!their_rekey_spi_.empty() && their_rekey_old_spi_ == p.old_spi) {
    const bool ours_lowest = std::min(p.nonce, nr) < their_rekey_low_nonce_;
    out.events.push_back(std::string("rekey collision on Child SA ") + hex(p.old_spi) + ": " +
                         (ours_lowest ? "ours is redundant" : "the peer's is redundant"));
    queued_.push_back({Intent::kDeleteChild, ours_lowest ? p.spi : p.old_spi});
    their_rekey_spi_.clear();
    return;
  }
  out.events.push_back("rekeyed Child SA " + hex(p.old_spi) + ": now " + hex(p.spi) + " (PFS)");
  queued_.push_back({Intent::kDeleteChild, p.old_spi});  // make before break: the new one is in first
}

void IkeSa::finish_rekey_ike(const std::vector<Payload>& inner, uint64_t now_ms, Out& out) {
  const Pending& p = *pending_;
  if (auto e = find_error_notify(inner)) {
    out.events.push_back("the peer refused our IKE SA rekey: error notify " + std::to_string(*e));
    out.ike_rekey_refused = true;
    return;
  }
  std::string error;
  std::vector<Proposal> chosen;
  const Payload *sa = find_payload(inner, PayloadType::kSa), *nonce = find_payload(inner, PayloadType::kNonce),
                *ke = find_payload(inner, PayloadType::kKe);
  const auto k = ke ? read_ke(ke->body, error) : std::nullopt;
  if (!sa || !nonce || !k || !read_sa(sa->body, chosen, error) || chosen.size() != 1 || chosen[0].spi.size() != 8) {
    out.events.push_back("the peer's answer to our IKE SA rekey is incomplete");
    return;
  }
  Proposal without_spi = chosen[0];
  without_spi.spi.clear();
  const auto c = choose_ike_proposal({without_spi}, policy_);
  const auto shared = k->group == p.share->group() ? p.share->shared_secret(k->data) : std::nullopt;
  if (!c || c->group != p.share->group() || !shared) {
    out.events.push_back("the peer's answer to our IKE SA rekey chose what we did not offer");
    return;
  }
  HalfOpen next;
  next.spi_i = p.new_ike_spi;
  next.spi_r = be_value(chosen[0].spi);
  next.chosen = *c;
  next.ni = p.nonce;
  next.nr.assign(nonce->body.begin(), nonce->body.end());
  next.keys = derive_rekeyed_ike_keys(c->prf, c->encr_key_bits / 8, sa_.keys.sk_d, next.ni, next.nr, *shared,
                                      next.spi_i, next.spi_r);
  out.successor = std::make_unique<IkeSa>(std::move(next), true, policy_, auth_, timing_, now_ms, true);
  out.successor->adopt_children(std::move(children_));
  children_.clear();
  out.events.push_back("rekeyed the IKE SA");
  queued_.clear();
  queued_.push_back({Intent::kDeleteIke, {}});  // the old one goes; its children moved
}

void IkeSa::send_next(uint64_t now_ms, Out& out) {
  while (!pending_ && !queued_.empty() && !closed_) {
    Queued q = std::move(queued_.front());
    queued_.pop_front();
    Pending p;
    p.intent = q.intent;
    MessageWriter w;
    Exchange exchange = Exchange::kInformational;
    switch (q.intent) {
      case Intent::kLiveness:
        break;
      case Intent::kDeleteChild:
        if (!child_by_in(q.spi)) continue;  // gone meanwhile
        write_delete(w, Protocol::kEsp, {q.spi});
        p.spi = q.spi;
        break;
      case Intent::kDeleteIke:
        write_delete(w, Protocol::kIke, {});
        break;
      case Intent::kRekeyChild: {
        if (children_.empty()) continue;
        const ChildSa& old = children_.back();
        exchange = Exchange::kCreateChildSa;
        p.share = KeyShare::generate(sa_.chosen.group);
        p.nonce = random_bytes(32);
        p.spi = random_esp_spi();
        p.old_spi = old.spi_in;
        write_notify(w, static_cast<uint16_t>(NotifyType::kRekeySa), {}, static_cast<uint8_t>(Protocol::kEsp),
                     old.spi_in);
        write_sa(w, {esp_offer(p.spi, {old.key_bits}, sa_.chosen.group)});
        write_nonce(w, p.nonce);
        write_ke(w, p.share->group(), p.share->public_value());
        write_ts(w, PayloadType::kTsi, old.ts_local);
        write_ts(w, PayloadType::kTsr, old.ts_remote);
        break;
      }
      case Intent::kRekeyIke: {
        exchange = Exchange::kCreateChildSa;
        p.share = KeyShare::generate(sa_.chosen.group);
        p.nonce = random_bytes(32);
        p.new_ike_spi = random_ike_spi();
        Proposal offer = sa_.chosen.as_proposal();
        offer.spi = be_bytes(p.new_ike_spi, 8);
        write_sa(w, {offer});
        write_nonce(w, p.nonce);
        write_ke(w, p.share->group(), p.share->public_value());
        break;
      }
    }
    p.id = next_id_++;
    p.bytes = seal(exchange, false, p.id, w);
    p.next_ms = now_ms + timing_.retransmit_ms;
    out.send.push_back(p.bytes);
    pending_ = std::move(p);
  }
}

void IkeSa::tick(uint64_t now_ms, Out& out) {
  if (closed_ || !pending_ || now_ms < pending_->next_ms) return;
  if (pending_->tries >= timing_.retransmits) {
    end("the peer did not answer " + std::to_string(pending_->tries + 1) + " times: dead", out);
    return;
  }
  ++pending_->tries;
  ++retransmissions_;
  pending_->next_ms = now_ms + (timing_.retransmit_ms << pending_->tries);
  out.send.push_back(pending_->bytes);
}

void IkeSa::check_liveness(uint64_t now_ms, Out& out) {
  if (busy()) return;  // a request is out: its answer, or its retransmissions, say as much
  queued_.push_back({Intent::kLiveness, {}});
  send_next(now_ms, out);
}

void IkeSa::rekey_child(uint64_t now_ms, Out& out) {
  queued_.push_back({Intent::kRekeyChild, {}});
  send_next(now_ms, out);
}

void IkeSa::rekey_ike(uint64_t now_ms, Out& out) {
  queued_.push_back({Intent::kRekeyIke, {}});
  send_next(now_ms, out);
}

void IkeSa::close(uint64_t now_ms, Out& out) {
  queued_.clear();
  pending_.reset();  // no waiting for it: the delete goes now, once
  queued_.push_back({Intent::kDeleteIke, {}});
  send_next(now_ms, out);
  // Not waiting for the answer: the SAs go now (section 1.4.1 lets either side delete at once).
  end("deleted the IKE SA", out);
}

void IkeSa::drop_child(const std::vector<uint8_t>& spi_in, Out& out) {
  const auto it = std::find_if(children_.begin(), children_.end(), [&](const ChildSa& c) { return c.spi_in == spi_in; });
  if (it == children_.end()) return;
  children_.erase(it);
  out.down.push_back(spi_in);
  // The old Child SA gone, the newest one carries our traffic out.
  if (!children_.empty() && std::none_of(children_.begin(), children_.end(), [](const ChildSa& c) {
        return c.outbound_ready;
      }))
    children_.back().outbound_ready = true;
}

void IkeSa::end(std::string why, Out& out) {
  for (const auto& c : children_) out.down.push_back(c.spi_in);
  children_.clear();
  pending_.reset();
  queued_.clear();
  closed_ = true;
  out.closed = true;
  out.events.push_back(std::move(why));
}

ChildSa* IkeSa::child_by_in(std::span<const uint8_t> spi) {
  for (auto& c : children_)
    if (std::ranges::equal(c.spi_in, spi)) return &c;
  return nullptr;
}

ChildSa* IkeSa::child_by_out(std::span<const uint8_t> spi) {
  for (auto& c : children_)
    if (std::ranges::equal(c.spi_out, spi)) return &c;
  return nullptr;
}

}  // namespace meshplane::ctrl::ike
