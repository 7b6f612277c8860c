// IKEv2 handshakes per second on one core, in process: ctrl/ike's
// Initiator against its Responder, IKE_SA_INIT and IKE_AUTH with a Child
// SA, both sides' work together (key shares, ECDH, prf+, AES-GCM, and the
// authentication: a pre-shared key, or certificates with Ed25519, ECDSA
// P-256 or RSA-2048 signatures and chain checks). Also what the responder
// spends answering an IKE_SA_INIT (a key share and ECDH) against what a
// cookie costs it (a keyed hash), the price a spoofed flood pays. And Child
// SA rekeys on an established IKE SA (ctrl/ike/ike_sa.cc): CREATE_CHILD_SA
// with a fresh DH share (PFS) and the INFORMATIONAL that deletes the old
// Child SA, both sides.
//   build/bench/ike_bench [handshakes]   (default 200)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ctrl/ike/ike_sa.h"
#include "ctrl/ike/initiator.h"
#include "ctrl/ike/responder.h"
#include "tests/support/ike_capture.h"
#include "tests/support/test_pki.h"

using namespace meshplane;
using namespace meshplane::ctrl::ike;
using Clock = std::chrono::steady_clock;

namespace {

Endpoint at(uint8_t a, uint8_t b) {
  Endpoint e;
  e.address = {198, 51, a, b};
  return e;
}

TrafficSelector any() {
  TrafficSelector t;
  t.end = {255, 255, 255, 255};
  return t;
}

struct Side {
  std::optional<Credentials> credentials;
  std::optional<TrustStore> trust;
  AuthConfig auth;
};

// Certificates from one Ed25519 CA for both sides, keys of `type`; empty type: a pre-shared key.
void make_sides(const std::string& type, Side& a, Side& b, const std::filesystem::path& dir) {
  for (auto* s : {&a, &b}) s->auth.local_ts = s->auth.remote_ts = {any()};
  a.auth.local_id = "gw-a.example";
  b.auth.local_id = "gw-b.example";
  if (type.empty()) {
    a.auth.psk = b.auth.psk = config::Secret(std::vector<uint8_t>(32, 5));
    return;
  }
  EVP_PKEY* ca_key = testing::new_key("ED25519");
  X509* ca = testing::make_cert(ca_key, "bench CA", nullptr, ca_key, -1, 2, "", true);
  testing::write_pem(ca, (dir / "ca.pem").string());
  for (auto [side, name, peer] : {std::tuple{&a, "gw-a", "gw-b"}, std::tuple{&b, "gw-b", "gw-a"}}) {
    EVP_PKEY* key = testing::new_key(type.c_str());
    X509* cert = testing::make_cert(key, name, ca, ca_key, -1, 1, std::string("DNS:") + name + ".example", false);
    const auto c = (dir / (std::string(name) + ".pem")).string(), k = (dir / (std::string(name) + ".key")).string();
    testing::write_pem(cert, c, key, k);
    std::string error;
    side->credentials = Credentials::load(c, k, error);
    side->trust = TrustStore::load((dir / "ca.pem").string(), error);
    if (!side->credentials || !side->trust) {
      std::fprintf(stderr, "%s\n", error.c_str());
      std::exit(1);
    }
    side->auth.credentials = &*side->credentials;
    side->auth.trust = &*side->trust;
    side->auth.peer_identity = std::string(peer) + ".example";
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  X509_free(ca);
  EVP_PKEY_free(ca_key);
}

double handshakes_per_second(const std::string& type, uint16_t group, int n, const std::filesystem::path& dir) {
  Side a, b;
  make_sides(type, a, b, dir);
  IkePolicy policy;
  policy.groups = {group};
  ResponderLimits limits;
  limits.half_open_per_source = n + 1;
  limits.cookie_threshold = n + 1;
  limits.half_open_max = n + 1;
  Responder responder(policy, b.auth, limits);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    Initiator initiator(policy, a.auth, at(1, 1), at(2, 2));
    std::vector<uint8_t> request = initiator.start();
    for (;;) {
      const Responder::Result r = responder.handle(request, at(1, 1), at(2, 2), 0);
      const Initiator::Step step = initiator.on_response(*parse(r.reply).message, r.reply);
      if (step.child) break;
      if (!step.failed.empty() || step.send.empty()) {
        std::fprintf(stderr, "handshake failed: %s %s\n", step.failed.c_str(), r.refused.c_str());
        std::exit(1);
      }
      request = step.send;
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

// Complete Child SA rekeys per second (both sides' work): CREATE_CHILD_SA
// with PFS in `group`, then the delete of the old Child SA.
double rekeys_per_second(uint16_t group, int n, const std::filesystem::path& dir) {
  Side a, b;
  make_sides("", a, b, dir);
  IkePolicy policy;
  policy.groups = {group};
  Responder responder(policy, b.auth);
  Initiator initiator(policy, a.auth, at(1, 1), at(2, 2));
  std::vector<uint8_t> request = initiator.start();
  std::optional<Established> established;
  std::optional<ChildSa> child;
  while (!child) {
    Responder::Result r = responder.handle(request, at(1, 1), at(2, 2), 0);
    if (r.established) established = std::move(r.established);
    Initiator::Step step = initiator.on_response(*parse(r.reply).message, r.reply);
    child = std::move(step.child);
    request = step.send;
  }
  IkeSa x(*initiator.sa(), true, policy, a.auth, {}, 0), y(established->sa, false, policy, b.auth, {}, 0);
  x.adopt_children({*child});
  y.adopt_children({established->child});
  // Delivers everything in flight until both sides are quiet.
  auto settle = [&](IkeSa::Out first) {
    std::vector<std::pair<IkeSa*, std::vector<uint8_t>>> wire;
    for (auto& m : first.send) wire.push_back({&y, std::move(m)});
    while (!wire.empty()) {
      auto [to, bytes] = std::move(wire.back());
      wire.pop_back();
      IkeSa::Out o;
      to->on_message(*parse(bytes).message, bytes, 0, o);
      for (auto& m : o.send) wire.push_back({to == &x ? &y : &x, std::move(m)});
    }
  };
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    IkeSa::Out o;
    x.rekey_child(0, o);
    settle(std::move(o));
    if (x.children().size() != 1 || y.children().size() != 1) {
      std::fprintf(stderr, "rekey %d left %zu and %zu Child SAs\n", i, x.children().size(), y.children().size());
      std::exit(1);
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
  const auto dir = std::filesystem::temp_directory_path() / ("mp-ike-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::printf("%-34s %-11s %14s\n", "authentication", "group", "handshakes/s");
  for (const char* type : {"", "ED25519", "EC", "RSA"})
    for (uint16_t group : {kDhCurve25519, kDhP256})
      std::printf("%-34s %-11s %14.0f\n", *type ? (std::string(type) + " certificates").c_str() : "pre-shared key",
                  group == kDhCurve25519 ? "Curve25519" : "P-256", handshakes_per_second(type, group, n, dir));

  // The responder's cost of one IKE_SA_INIT: answered (share + ECDH + keys) or with a cookie.
  AuthConfig auth;
  auth.psk = config::Secret(std::vector<uint8_t>(32, 5));
  for (const bool cookie : {false, true}) {
    ResponderLimits limits;
    limits.cookie_threshold = cookie ? 0 : 1u << 30;
    limits.half_open_max = limits.half_open_per_source = 1u << 30;
    Responder r(IkePolicy{}, auth, limits);
    auto raw = testing::strongswan_ike_sa_init();  // P-256, the captured request's first proposal
    const int count = n * 10;
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
      raw[7] = static_cast<uint8_t>(i), raw[6] = static_cast<uint8_t>(i >> 8), raw[5] = static_cast<uint8_t>(i >> 16);
      if (r.handle(raw, at(3, static_cast<uint8_t>(i)), at(2, 2), 0).reply.empty()) return 1;
    }
    std::printf("IKE_SA_INIT %-22s %26.0f per second\n", cookie ? "answered with a cookie" : "answered (P-256)",
                count / std::chrono::duration<double>(Clock::now() - start).count());
  }
  for (uint16_t group : {kDhCurve25519, kDhP256})
    std::printf("%-46s %12.0f per second\n",
                group == kDhCurve25519 ? "Child SA rekeys with PFS (Curve25519)" : "Child SA rekeys with PFS (P-256)",
                rekeys_per_second(group, n * 5, dir));
  std::filesystem::remove_all(dir);
  return 0;
}
