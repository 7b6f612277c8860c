#include "ctrl/ike/ike_auth.h"

#include <algorithm>

#include "ctrl/ike/auth.h"

namespace meshplane::ctrl::ike {
namespace {

template <size_t N>
bool less(const std::array<uint8_t, N>& a, const std::array<uint8_t, N>& b, size_t n) {
  return std::lexicographical_compare(a.begin(), a.begin() + n, b.begin(), b.begin() + n);
}

}  // namespace

std::optional<Proposal> choose_esp(const std::vector<Proposal>& offered, const std::vector<uint16_t>& key_bits,
                                   uint16_t& bits, bool& esn) {
  for (const auto& p : offered) {
    if (p.protocol != Protocol::kEsp || p.spi.size() != 4) continue;
    const Transform* encr = nullptr;
    for (uint16_t want : key_bits)
      for (const auto& t : p.transforms)
        if (!encr && t.type == TransformType::kEncr && t.id == kEncrAesGcm16 && t.key_bits == want &&
            !t.unknown_attribute)
          encr = &t;
    const bool integ = std::any_of(p.transforms.begin(), p.transforms.end(),
                                   [](const Transform& t) { return t.type == TransformType::kInteg && t.id != 0; });
    const auto e = std::find_if(p.transforms.begin(), p.transforms.end(),
                                [](const Transform& t) { return t.type == TransformType::kEsn; });
    if (!encr || integ) continue;
    Proposal chosen;
    chosen.number = p.number;
    chosen.protocol = Protocol::kEsp;
    chosen.spi = random_esp_spi();
    chosen.transforms = {*encr};
    esn = e != p.transforms.end() && e->id == kEsnUsed;
    chosen.transforms.push_back({TransformType::kEsn, esn ? kEsnUsed : kEsnNone});
    bits = encr->key_bits;
    return chosen;
  }
  return std::nullopt;
}


Proposal esp_offer(std::span<const uint8_t> spi, const std::vector<uint16_t>& key_bits, uint16_t group) {
  Proposal esp;
  esp.protocol = Protocol::kEsp;
  esp.spi.assign(spi.begin(), spi.end());
  for (uint16_t bits : key_bits) esp.transforms.push_back({TransformType::kEncr, kEncrAesGcm16, bits});
  if (group) esp.transforms.push_back({TransformType::kDh, group});
  esp.transforms.push_back({TransformType::kEsn, kEsnNone});
  return esp;
}

std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& allowed) {
  std::vector<TrafficSelector> out;
  for (const auto& o : offered)
    for (const auto& a : allowed) {
      if (o.type != a.type || (o.protocol && a.protocol && o.protocol != a.protocol)) continue;
      TrafficSelector t = o;
      t.protocol = o.protocol ? o.protocol : a.protocol;
      t.start_port = std::max(o.start_port, a.start_port);
      t.end_port = std::min(o.end_port, a.end_port);
      const size_t n = o.address_size();
      t.start = less(o.start, a.start, n) ? a.start : o.start;
      t.end = less(o.end, a.end, n) ? o.end : a.end;
      if (t.start_port <= t.end_port && !less(t.end, t.start, n)) out.push_back(t);
    }
  return out;
}

AuthPayloads collect_auth_payloads(const std::vector<Payload>& inner, PayloadType id_type) {
  AuthPayloads out;
  std::string error;
  for (const auto& p : inner) {
    const auto type = static_cast<PayloadType>(p.type);
    if (type == id_type) out.id = &p;
    if (type == PayloadType::kAuth) out.auth = &p;
    if (type == PayloadType::kSa) out.sa = &p;
    if (type == PayloadType::kTsi) out.tsi = &p;
    if (type == PayloadType::kTsr) out.tsr = &p;
    if (type == PayloadType::kCert)
      if (auto c = read_cert(p.body, error); c && c->encoding == kCertX509Signature)
        if (auto parsed = Certificate::from_der(c->data)) out.certs.push_back(std::move(*parsed));
  }
  return out;
}

std::optional<std::string> authenticate_peer(const AuthConfig& config, uint16_t prf, const AuthPayloads& p,
                                             std::span<const uint8_t> octets, std::string& why) {
  std::string error;
  if (!p.auth || !p.id) {
    why = "no ID and AUTH";
    return std::nullopt;
  }
  const auto a = read_auth(p.auth->body, error);
  const auto id = read_id(p.id->body, error);
  if (!a || !id) {
    why = "no valid ID and AUTH";
    return std::nullopt;
  }
  if (!config.credentials) {
    if (config.psk && a->method == kAuthPsk && std::ranges::equal(a->data, psk_auth(prf, *config.psk, octets)))
      return std::string(id->data.begin(), id->data.end());
    why = "the pre-shared key AUTH does not verify";
    return std::nullopt;
  }
  if (p.certs.empty()) {
    why = "no certificate";
    return std::nullopt;
  }
  std::vector<Certificate> chain;
  for (size_t i = 1; i < p.certs.size(); ++i) chain.push_back(*Certificate::from_der(p.certs[i].der()));
  if (!config.trust->verify(p.certs[0], chain, error)) why = "certificate refused: " + error;
  else if (!p.certs[0].has_identity(config.peer_identity)) why = "certificate is not " + config.peer_identity;
  else if (!id_matches(p.certs[0], id->type, id->data)) why = "its ID is not a name of its certificate";
  else if (a->method != kAuthDigitalSignature || !verify_signature_auth(p.certs[0], a->data, octets, error))
    why = "signature refused: " + error;
  else
    return config.peer_identity;
  return std::nullopt;
}

AuthOutcome respond_ike_auth(const HalfOpen& sa, const Message& m, std::span<const uint8_t> raw,
                             const AuthConfig& config, uint64_t iv) {
  AuthOutcome out;
  if (m.header.exchange != Exchange::kIkeAuth || m.header.response() || m.payloads.empty() ||
      m.payloads.back().type != static_cast<uint8_t>(PayloadType::kSk)) {
    out.refused = "not an IKE_AUTH request";
    return out;
  }
  const Payload& sk = m.payloads.back();
  const auto plain = open_sk(raw.first(static_cast<size_t>(sk.body.data() - raw.data())), sk.body, sa.keys.sk_ei);
  if (!plain) {
    out.refused = "IKE_AUTH does not open with SK_ei";
    return out;
  }
  std::vector<Payload> inner;
  ParseError parse_error;
  uint8_t critical = 0;
  std::string error;
  Header h = m.header;
  h.flags = kFlagResponse;
  auto seal = [&](MessageWriter& w) {
    const uint8_t first = w.first_type();
    return seal_message(h, first, w.finish(), sa.keys.sk_er, iv);
  };
  auto refuse = [&](std::string why) {
    MessageWriter w;
    write_notify(w, static_cast<uint16_t>(NotifyType::kAuthenticationFailed));
    out.reply = seal(w);
    out.refused = std::move(why);
    return std::move(out);
  };
  if (!parse_chain(*plain, sk.next, inner, parse_error, critical)) return refuse("payloads inside SK do not parse");
  const AuthPayloads p = collect_auth_payloads(inner, PayloadType::kIdi);
  if (!p.id || !p.auth) return refuse("IKE_AUTH without IDi and AUTH");
  const auto octets = signed_octets(sa.chosen.prf, sa.request, sa.nr, sa.keys.sk_pi, p.id->body);
  std::string why;
  const auto peer = authenticate_peer(config, sa.chosen.prf, p, octets, why);
  if (!peer) return refuse(why);
  out.peer_identity = *peer;
  const Payload *esp = p.sa, *tsi = p.tsi, *tsr = p.tsr;

  MessageWriter w;
  const auto idr = id_body(IdType::kFqdn, config.local_id);
  write_id(w, PayloadType::kIdr, idr);
  const auto ours = signed_octets(sa.chosen.prf, sa.response, sa.ni, sa.keys.sk_pr, idr);
  if (config.credentials) {
    write_cert(w, config.credentials->certificate().der());
    write_auth(w, kAuthDigitalSignature, config.credentials->sign(ours));
  } else {
    write_auth(w, kAuthPsk, psk_auth(sa.chosen.prf, *config.psk, ours));
  }
  // The Child SA; a failure here leaves the IKE SA up (RFC 7296 section 1.2).
  std::vector<Proposal> offered;
  std::vector<TrafficSelector> ts_i, ts_r;
  uint16_t bits = 0;
  bool esn = false;
  std::optional<Proposal> chosen;
  if (esp && read_sa(esp->body, offered, error)) chosen = choose_esp(offered, config.esp_key_bits, bits, esn);
  if (!esp || !tsi || !tsr || !read_ts(tsi->body, ts_i, error) || !read_ts(tsr->body, ts_r, error)) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kInvalidSyntax));
    out.refused = "no Child SA: SA or traffic selectors missing";
  } else if (!chosen) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kNoProposalChosen));
    out.refused = "no Child SA: no ESP proposal chosen";
  } else if (auto remote = narrow(ts_i, config.remote_ts), local = narrow(ts_r, config.local_ts);
             remote.empty() || local.empty()) {
    write_notify(w, static_cast<uint16_t>(NotifyType::kTsUnacceptable));
    out.refused = "no Child SA: traffic selectors outside the peer's prefixes";
  } else {
    const auto offered_spi = std::find_if(offered.begin(), offered.end(),
                                          [&](const Proposal& p) { return p.number == chosen->number; })->spi;
    write_sa(w, {*chosen});
    write_ts(w, PayloadType::kTsi, remote);
    write_ts(w, PayloadType::kTsr, local);
    ChildKeys keys = derive_child_keys(sa.chosen.prf, bits / 8 + kGcmSaltSize, sa.keys.sk_d, sa.ni, sa.nr);
    out.child = ChildSa{chosen->spi, offered_spi, bits, esn, std::move(keys.initiator_to_responder),
                        std::move(keys.responder_to_initiator), std::move(local), std::move(remote)};
  }
  out.reply = seal(w);
  return out;
}

}  // namespace meshplane::ctrl::ike
