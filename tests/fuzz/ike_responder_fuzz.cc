// libFuzzer target for what the IKE responder does with what a peer sends
// (ctrl/ike/sa_init.cc, ike_auth.cc, and the readers under them):
//   input[0] even: the rest is an IKE_SA_INIT request as received;
//   input[0] odd:  strongSwan's captured IKE_SA_INIT request is answered
//                  first, and the rest is the plaintext of an IKE_AUTH
//                  request that the harness seals with the SA's SK_ei, so the
//                  fuzzer reaches the code behind the ICV with any payloads
//                  it likes; a pre-shared-key AUTH of the right size is
//                  replaced by the right value for its IDi, so proposals and
//                  selectors are reached too.
// Seeded from tests/fuzz/seeds/ike_responder/.
// fuzz-sources: ctrl/ike/message.cc ctrl/ike/payloads.cc ctrl/ike/crypto.cc ctrl/ike/sa_init.cc ctrl/ike/ike_auth.cc ctrl/ike/auth.cc ctrl/ike/identity.cc
// fuzz-libs: -lfmt -lssl -lcrypto
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ctrl/ike/auth.h"
#include "ctrl/ike/ike_auth.h"

using namespace meshplane;
using namespace meshplane::ctrl::ike;

namespace {

struct World {
  std::vector<uint8_t> init;  // strongSwan's IKE_SA_INIT request
  CookieJar jar;
  AuthConfig auth;
  World() {
    std::ifstream in("../tests/fuzz/seeds/ike_message/strongswan_ike_sa_init.bin", std::ios::binary);
    init.assign(std::istreambuf_iterator<char>(in), {});
    if (init.empty()) __builtin_trap();
    auth.local_id = "gw-b.example";
    auth.psk = config::Secret(std::vector<uint8_t>(16, 1));
    TrafficSelector any;
    any.end = {255, 255, 255, 255};
    auth.local_ts = auth.remote_ts = {any};
  }
};

Endpoint at(uint8_t last) {
  Endpoint e;
  e.address = {192, 0, 2, last};
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size < 1) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if (!(data[0] & 1)) {
    const ParseResult r = parse(rest);
    if (r.message) {
      const SaInitOutcome o = respond_sa_init(*r.message, rest, at(1), at(2), IkePolicy{}, world.jar, data[0] & 2);
      if (o.sa && !parse(o.reply).message) __builtin_trap();  // our own answer must read back
    }
    return 0;
  }
  const Message init = *parse(world.init).message;
  const SaInitOutcome o = respond_sa_init(init, world.init, at(1), at(2), IkePolicy{}, world.jar, false);
  if (!o.sa) __builtin_trap();
  Header h;
  h.spi_i = o.sa->spi_i;
  h.spi_r = o.sa->spi_r;
  h.exchange = Exchange::kIkeAuth;
  h.flags = kFlagInitiator;
  h.message_id = 1;
  const uint8_t first = rest.empty() ? 0 : rest[0];  // the plaintext's first payload type
  std::vector<uint8_t> plain(rest.empty() ? rest.begin() : rest.begin() + 1, rest.end());
  std::vector<Payload> inner;
  ParseError e;
  uint8_t critical = 0;
  if (parse_chain(plain, first, inner, e, critical)) {
    const AuthPayloads p = collect_auth_payloads(inner, PayloadType::kIdi);
    if (p.id && p.auth) {
      const auto octets = signed_octets(o.sa->chosen.prf, o.sa->request, o.sa->nr, o.sa->keys.sk_pi, p.id->body);
      const auto right = psk_auth(o.sa->chosen.prf, *world.auth.psk, octets);
      if (p.auth->body.size() == 4 + right.size() && p.auth->body[0] == kAuthPsk)
        std::copy(right.begin(), right.end(), plain.begin() + (p.auth->body.data() + 4 - plain.data()));
    }
  }
  const auto sealed = seal_message(h, first, plain, o.sa->keys.sk_ei, 1);
  const ParseResult r = parse(sealed);
  if (!r.message) __builtin_trap();
  const AuthOutcome a = respond_ike_auth(*o.sa, *r.message, sealed, world.auth, 1);
  if (a.reply.empty() && a.refused.empty()) __builtin_trap();  // every request is answered or refused for a reason
  return 0;
}
