// A one-shot IKEv2 responder on a kernel UDP socket, for checking
// ctrl/ike against strongSwan (tests/e2e/test_ike_strongswan.py) before the
// daemon carries IKE itself: it answers IKE_SA_INIT, opens the IKE_AUTH
// request with the keys it derived, checks the initiator's AUTH (a
// pre-shared key, or a certificate chain to the CA, the expected identity
// among its names and an RFC 7427 signature), and answers with its own
// identity, AUTH (and certificate), the first ESP proposal it can take and
// the initiator's traffic selectors, or AUTHENTICATION_FAILED. Prints one
// JSON line of what it saw, then exits.
//   ike_probe ADDRESS ID psk TEXT [--cookies]
//   ike_probe ADDRESS ID cert CERT KEY CA PEER_IDENTITY
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ctrl/ike/auth.h"
#include "ctrl/ike/crypto.h"
#include "ctrl/ike/identity.h"
#include "ctrl/ike/message.h"
#include "ctrl/ike/payloads.h"
#include "ctrl/ike/sa_init.h"

using namespace meshplane;
using namespace meshplane::ctrl::ike;

namespace {

Endpoint endpoint_of(const sockaddr_in& a) {
  Endpoint e;
  std::memcpy(e.address.data(), &a.sin_addr, 4);
  e.port = ntohs(a.sin_port);
  return e;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

void fail(const std::string& why) {
  std::printf("{\"ok\": false, \"why\": \"%s\"}\n", why.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  const std::string id = argv[2];
  const bool use_psk = std::string(argv[3]) == "psk";
  const config::Secret psk(bytes_of(argv[4]));
  const bool cookies = use_psk && argc > 5 && std::string(argv[5]) == "--cookies";
  std::optional<Credentials> credentials;
  std::optional<TrustStore> trust;
  std::string peer_identity, error;
  if (!use_psk) {
    if (argc < 8) return 2;
    credentials = Credentials::load(argv[4], argv[5], error);
    if (credentials) trust = TrustStore::load(argv[6], error);
    if (!credentials || !trust) fail(error);
    peer_identity = argv[7];
  }
  // UDP 500, and 4500 where messages follow a 4-byte non-ESP marker (RFC 3948):
  // strongSwan's userspace ESP moves there after IKE_SA_INIT.
  int fds[2];
  sockaddr_in local{};
  for (int i = 0; i < 2; ++i) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    local.sin_family = AF_INET;
    local.sin_port = htons(i == 0 ? 500 : 4500);
    inet_pton(AF_INET, argv[1], &local.sin_addr);
    if (bind(fds[i], reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) fail("cannot bind UDP 500 and 4500");
  }
  local.sin_port = htons(500);
  std::printf("ready\n");
  std::fflush(stdout);
  const Endpoint to = endpoint_of(local);
  CookieJar jar;
  IkePolicy policy;
  std::optional<HalfOpen> sa;
  std::string refusals;  // answers that asked the initiator to try again (cookie, another group)
  std::vector<uint8_t> buf(65535);
  for (;;) {
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (poll(p, 2, -1) <= 0) continue;
    const int fd = p[0].revents ? fds[0] : fds[1];
    const bool natt = fd == fds[1];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    const size_t marker = natt ? 4 : 0;
    if (n <= static_cast<ssize_t>(marker)) continue;
    if (natt && std::memcmp(buf.data(), "\0\0\0\0", 4) != 0) continue;  // ESP, not IKE
    const std::span<const uint8_t> datagram(buf.data() + marker, static_cast<size_t>(n) - marker);
    const ParseResult parsed = parse(datagram);
    if (!parsed.message) fail(std::string("unparsable message: ") + to_string(parsed.error));
    const Message& m = *parsed.message;
    auto send = [&](const std::vector<uint8_t>& message) {
      std::vector<uint8_t> out(marker, 0);
      out.insert(out.end(), message.begin(), message.end());
      sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    };
    if (m.header.exchange == Exchange::kIkeSaInit) {
      if (sa && m.header.spi_i == sa->spi_i) {  // a retransmission: the same answer
        send(sa->response);
        continue;
      }
      SaInitOutcome o = respond_sa_init(m, datagram, endpoint_of(from), to, policy, jar, cookies);
      if (o.reply.empty() && !o.sa) fail(o.why);  // dropped: nothing the initiator could retry
      send(o.reply);
      if (o.sa)
        sa = std::move(o.sa);
      else
        refusals += (refusals.empty() ? "\"" : ", \"") + o.why + "\"";
      continue;
    }
    if (m.header.exchange != Exchange::kIkeAuth || !sa || m.payloads.empty()) fail("unexpected exchange");
    const Payload& sk = m.payloads.back();
    if (sk.type != static_cast<uint8_t>(PayloadType::kSk)) fail("IKE_AUTH without an SK payload");
    const size_t aad = static_cast<size_t>(sk.body.data() - datagram.data());
    const auto plain = open_sk(datagram.first(aad), sk.body, sa->keys.sk_ei);
    if (!plain) fail("IKE_AUTH does not decrypt with SK_ei");
    std::vector<Payload> inner;
    ParseError e;
    uint8_t critical = 0;
    if (!parse_chain(*plain, sk.next, inner, e, critical)) fail("decrypted payloads do not parse");
    std::string types;
    const Payload *idi = nullptr, *auth = nullptr, *esp = nullptr, *tsi = nullptr, *tsr = nullptr;
    std::vector<Certificate> certs;
    for (const auto& p : inner) {
      types += (types.empty() ? "" : ",") + std::to_string(p.type);
      switch (static_cast<PayloadType>(p.type)) {
        case PayloadType::kIdi: idi = &p; break;
        case PayloadType::kAuth: auth = &p; break;
        case PayloadType::kSa: esp = &p; break;
        case PayloadType::kTsi: tsi = &p; break;
        case PayloadType::kTsr: tsr = &p; break;
        case PayloadType::kCert:
          if (auto c = read_cert(p.body, error); c && c->encoding == kCertX509Signature)
            if (auto parsed = Certificate::from_der(c->data)) certs.push_back(std::move(*parsed));
          break;
        default: break;
      }
    }
    if (!idi || !auth || !esp || !tsi || !tsr) fail("IKE_AUTH lacks IDi, AUTH, SA or TS");
    const auto a = read_auth(auth->body, error);
    const auto octets = signed_octets(sa->chosen.prf, sa->request, sa->nr, sa->keys.sk_pi, idi->body);
    std::string refused;
    if (use_psk) {
      if (!a || a->method != kAuthPsk || !std::ranges::equal(a->data, psk_auth(sa->chosen.prf, psk, octets)))
        refused = "the initiator's AUTH does not verify";
    } else if (certs.empty()) {
      refused = "no certificate";
    } else if (std::vector<Certificate> rest(std::make_move_iterator(certs.begin() + 1),
                                             std::make_move_iterator(certs.end()));
               !trust->verify(certs[0], rest, error)) {
      refused = "certificate refused: " + error;
    } else if (!certs[0].has_identity(peer_identity)) {
      refused = "certificate is not " + peer_identity;
    } else if (const auto idp = read_id(idi->body, error); !idp || !id_matches(certs[0], idp->type, idp->data)) {
      refused = "IDi is not a name of its certificate";
    } else if (!a || a->method != kAuthDigitalSignature || !verify_signature_auth(certs[0], a->data, octets, error)) {
      refused = "signature refused: " + error;
    }
    Header h = m.header;
    h.flags = kFlagResponse;
    if (!refused.empty()) {
      MessageWriter n;
      write_notify(n, static_cast<uint16_t>(NotifyType::kAuthenticationFailed));
      const uint8_t first = n.first_type();
      send(seal_message(h, first, n.finish(), sa->keys.sk_er, 1));
      std::printf("{\"ok\": false, \"why\": \"%s\"}\n", refused.c_str());
      return 1;
    }
    std::vector<Proposal> offered;
    if (!read_sa(esp->body, offered, error) || offered.empty()) fail("ESP proposals: " + error);
    Proposal child = offered[0];
    child.spi.resize(4);
    RAND_bytes(child.spi.data(), 4);
    std::vector<Transform> keep;
    for (const auto& t : child.transforms)  // one of each type: the first
      if (std::none_of(keep.begin(), keep.end(), [&](const Transform& k) { return k.type == t.type; })) keep.push_back(t);
    child.transforms = keep;

    MessageWriter w;  // the answer's plaintext
    const auto id_bytes = bytes_of(id);
    write_id(w, PayloadType::kIdr, static_cast<uint8_t>(IdType::kFqdn), id_bytes);
    std::vector<uint8_t> idr_body(4 + id_bytes.size());  // the IDr payload's body: type, reserved, data
    idr_body[0] = static_cast<uint8_t>(IdType::kFqdn);
    std::copy(id_bytes.begin(), id_bytes.end(), idr_body.begin() + 4);
    const auto ours = signed_octets(sa->chosen.prf, sa->response, sa->ni, sa->keys.sk_pr, idr_body);
    if (use_psk) {
      write_auth(w, kAuthPsk, psk_auth(sa->chosen.prf, psk, ours));
    } else {
      write_cert(w, credentials->certificate().der());
      write_auth(w, kAuthDigitalSignature, credentials->sign(ours));
    }
    write_sa(w, {child});
    w.begin(PayloadType::kTsi);
    w.bytes(tsi->body);
    w.begin(PayloadType::kTsr);
    w.bytes(tsr->body);
    const uint8_t first = w.first_type();
    const auto plaintext = w.finish();
    send(seal_message(h, first, plaintext, sa->keys.sk_er, 1));
    std::printf("{\"ok\": true, \"refusals\": [%s], \"prf\": %u, \"group\": %u, \"encr_bits\": %u, "
                "\"peer_behind_nat\": %s, \"auth_over_4500\": %s, \"auth_payloads\": [%s]}\n",
                refusals.c_str(), sa->chosen.prf, sa->chosen.group, sa->chosen.encr_key_bits,
                sa->peer_behind_nat ? "true" : "false", natt ? "true" : "false", types.c_str());
    return 0;
  }
}
