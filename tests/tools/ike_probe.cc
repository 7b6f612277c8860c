// A one-shot IKEv2 responder on a kernel UDP socket, for checking
// ctrl/ike against strongSwan (tests/e2e/test_ike_strongswan.py) before the
// daemon carries IKE itself: it answers IKE_SA_INIT, opens the IKE_AUTH
// request with the keys it derived, checks the initiator's AUTH (a
// pre-shared key, or a certificate chain to the CA, the expected identity
// among its names and an RFC 7427 signature), and answers with its own
// identity, AUTH (and certificate), the first ESP proposal it can take and
// the initiator's traffic selectors, or AUTHENTICATION_FAILED. Prints one
// JSON line of what it saw, then exits.
//   ike_probe ADDRESS ID psk TEXT [--cookies | --initiate PEER]
//   ike_probe ADDRESS ID cert CERT KEY CA PEER_IDENTITY [--initiate PEER]
// With --initiate it is the initiator (ctrl/ike/initiator.h) towards PEER.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ctrl/ike/crypto.h"
#include "ctrl/ike/identity.h"
#include "ctrl/ike/ike_auth.h"
#include "ctrl/ike/initiator.h"
#include "ctrl/ike/message.h"
#include "ctrl/ike/payloads.h"
#include "ctrl/ike/responder.h"

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

std::string hex(std::span<const uint8_t> b) {
  std::string out;
  for (uint8_t x : b) out += "0123456789abcdef"[x >> 4], out += "0123456789abcdef"[x & 15];
  return out;
}

// The first 8 bytes of SHA-256 over a key: enough to compare with the peer's, nothing to decrypt with.
std::string fingerprint(const config::Secret& key) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(key.bytes().data(), key.bytes().size(), digest);
  return hex(std::span(digest, 8));
}

void fail(const std::string& why) {
  std::printf("{\"ok\": false, \"why\": \"%s\"}\n", why.c_str());
  std::exit(1);
}

void print_child(const char* role, const ChildSa& c, const std::string& peer, bool natt) {
  std::printf("{\"ok\": true, \"role\": \"%s\", \"peer\": \"%s\", \"natt\": %s, \"spi_in\": \"%s\", "
              "\"spi_out\": \"%s\", \"key_in\": \"%s\", \"key_out\": \"%s\"}\n",
              role, peer.c_str(), natt ? "true" : "false", hex(c.spi_in).c_str(), hex(c.spi_out).c_str(),
              fingerprint(c.key_in).c_str(), fingerprint(c.key_out).c_str());
}

// Initiates to `peer_address` from sockets `fds` (500, 4500) until the Child SA is up or refused.
int run_initiator(const int* fds, const Endpoint& local, const std::string& peer_address, const AuthConfig& config) {
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  inet_pton(AF_INET, peer_address.c_str(), &peer.sin_addr);
  Initiator initiator(IkePolicy{}, config, local, endpoint_of(peer));
  std::vector<uint8_t> next = initiator.start();
  bool natt = false;
  std::vector<uint8_t> buf(65535);
  for (;;) {
    peer.sin_port = htons(natt ? 4500 : 500);
    std::vector<uint8_t> out(natt ? 4 : 0, 0);
    out.insert(out.end(), next.begin(), next.end());
    sendto(fds[natt], out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
    pollfd p{fds[natt], POLLIN, 0};
    if (poll(&p, 1, 10'000) <= 0) fail("no answer");
    const ssize_t n = recv(fds[natt], buf.data(), buf.size(), 0);
    const size_t marker = natt ? 4 : 0;
    if (n <= static_cast<ssize_t>(marker)) fail("empty answer");
    const std::span<const uint8_t> datagram(buf.data() + marker, static_cast<size_t>(n) - marker);
    const ParseResult parsed = parse(datagram);
    if (!parsed.message) fail(std::string("unparsable answer: ") + to_string(parsed.error));
    Initiator::Step step = initiator.on_response(*parsed.message, datagram);
    if (!step.failed.empty()) fail(step.failed);
    if (step.child) {
      print_child("initiator", *step.child, step.peer_identity, natt);
      return 0;
    }
    if (step.send.empty()) fail("nothing to send");
    next = std::move(step.send);
    natt = initiator.float_to_4500();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  const std::string id = argv[2];
  const bool use_psk = std::string(argv[3]) == "psk";
  const config::Secret psk(bytes_of(argv[4]));
  const bool cookies = use_psk && argc > 5 && std::string(argv[5]) == "--cookies";
  std::string initiate;  // the peer's address, when we initiate
  for (int i = 5; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--initiate") initiate = argv[i + 1];
  std::optional<Credentials> credentials;
  std::optional<TrustStore> trust;
  std::string error;
  AuthConfig config;
  config.local_id = id;
  TrafficSelector any;  // the whole IPv4 space: this probe checks keys, not policy
  any.end = {255, 255, 255, 255};
  config.local_ts = config.remote_ts = {any};
  if (use_psk) {
    config.psk = psk;
  } else {
    if (argc < 8) return 2;
    credentials = Credentials::load(argv[4], argv[5], error);
    if (credentials) trust = TrustStore::load(argv[6], error);
    if (!credentials || !trust) fail(error);
    config.credentials = &*credentials;
    config.trust = &*trust;
    config.peer_identity = argv[7];
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
  if (!initiate.empty()) return run_initiator(fds, to, initiate, config);
  ResponderLimits limits;
  if (cookies) limits.cookie_threshold = 0;  // every IKE_SA_INIT must bring a cookie
  Responder responder(IkePolicy{}, config, limits);
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
    Responder::Result r = responder.handle(datagram, endpoint_of(from), to, 0);
    if (!r.reply.empty()) {
      std::vector<uint8_t> out(marker, 0);
      out.insert(out.end(), r.reply.begin(), r.reply.end());
      sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
    if (r.established) {
      const Established& e = *r.established;
      std::printf("{\"ok\": true, \"refusals\": [%s], \"prf\": %u, \"group\": %u, \"encr_bits\": %u, "
                  "\"natt\": %s, \"auth_over_4500\": %s, \"peer\": \"%s\", \"spi_in\": \"%s\", "
                  "\"spi_out\": \"%s\", \"key_in\": \"%s\", \"key_out\": \"%s\"}\n",
                  refusals.c_str(), e.sa.chosen.prf, e.sa.chosen.group, e.sa.chosen.encr_key_bits, e.natt ? "true" : "false",
                  natt ? "true" : "false", e.peer_identity.c_str(), hex(e.child.spi_in).c_str(),
                  hex(e.child.spi_out).c_str(), fingerprint(e.child.key_in).c_str(),
                  fingerprint(e.child.key_out).c_str());
      return 0;
    }
    if (r.refused.empty()) continue;
    if (r.reply.empty() || parse(datagram).message->header.exchange == Exchange::kIkeAuth) {
      std::printf("{\"ok\": false, \"why\": \"%s\"}\n", r.refused.c_str());
      return 1;
    }
    refusals += (refusals.empty() ? "\"" : ", \"") + r.refused + "\"";
  }
}
