// libFuzzer target for what an established IKE SA does with the peer's
// requests (ctrl/ike/ike_sa.cc: CREATE_CHILD_SA rekeys of Child SAs and of
// the IKE SA, INFORMATIONAL deletes and liveness checks, and the readers
// under them). The harness answers strongSwan's captured IKE_SA_INIT, so the
// IKE SA's keys are real, gives the SA one Child SA (inbound SPI 0x01020304,
// outbound 0x05060708), and seals the input for the code behind the ICV:
//   input[0] bit 0: the exchange (CREATE_CHILD_SA or INFORMATIONAL);
//   input[1]: the first payload type of the plaintext; the rest: the plaintext.
// Every request that opens must be answered with a message that reads back.
// Seeded from tests/fuzz/seeds/ike_sa/.
// fuzz-sources: ctrl/ike/message.cc ctrl/ike/payloads.cc ctrl/ike/crypto.cc ctrl/ike/sa_init.cc ctrl/ike/ike_auth.cc ctrl/ike/auth.cc ctrl/ike/identity.cc ctrl/ike/ike_sa.cc
// fuzz-libs: -lfmt -lssl -lcrypto
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include "ctrl/ike/ike_sa.h"

using namespace meshplane;
using namespace meshplane::ctrl::ike;

namespace {

struct World {
  HalfOpen sa;
  IkePolicy policy;
  AuthConfig auth;
  ChildSa child;
  World() {
    std::ifstream in("../tests/fuzz/seeds/ike_message/strongswan_ike_sa_init.bin", std::ios::binary);
    const std::vector<uint8_t> init(std::istreambuf_iterator<char>(in), {});
    const ParseResult r = parse(init);
    if (!r.message) __builtin_trap();
    Endpoint a, b;
    a.address = {192, 0, 2, 1};
    b.address = {192, 0, 2, 2};
    CookieJar jar;
    SaInitOutcome o = respond_sa_init(*r.message, init, a, b, policy, jar, false);
    if (!o.sa) __builtin_trap();
    sa = std::move(*o.sa);
    TrafficSelector any;
    any.end = {255, 255, 255, 255};
    auth.local_ts = auth.remote_ts = {any};
    child.spi_in = {1, 2, 3, 4};
    child.spi_out = {5, 6, 7, 8};
    child.key_bits = 128;
    child.ts_local = child.ts_remote = {any};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size < 2) return 0;
  IkeSa sa(world.sa, false, world.policy, world.auth, {}, 0);
  sa.adopt_children({world.child});
  Header h;
  h.spi_i = world.sa.spi_i;
  h.spi_r = world.sa.spi_r;
  h.exchange = data[0] & 1 ? Exchange::kInformational : Exchange::kCreateChildSa;
  h.flags = kFlagInitiator;
  h.message_id = 2;  // the initiator's first request after IKE_AUTH
  const std::vector<uint8_t> plain(data + 2, data + size);
  const auto sealed = seal_message(h, data[1], plain, world.sa.keys.sk_ei, 7);
  const ParseResult r = parse(sealed);
  if (!r.message) return 0;  // a plaintext too long for one message
  IkeSa::Out out;
  sa.on_message(*r.message, sealed, 1, out);
  std::vector<Payload> inner;
  ParseError e;
  uint8_t critical = 0;
  if (parse_chain(plain, data[1], inner, e, critical) && out.send.empty()) __builtin_trap();  // answered
  for (const auto& m : out.send)
    if (!parse(m).message) __builtin_trap();  // our answers read back
  if (out.successor && out.successor->children().size() != 1) __builtin_trap();  // the Child SA moves over
  return 0;
}
