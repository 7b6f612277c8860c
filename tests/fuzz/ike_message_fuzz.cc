// libFuzzer target for the IKEv2 message reader (ctrl/ike/message.cc,
// payloads.cc): any datagram as it arrives on UDP 500. Each payload the
// chain yields goes to its typed reader, an SK payload's body is read as a
// decrypted chain too (nested, repeated, truncated payloads), and whatever
// parses is written back with MessageWriter and must read back the same:
// types, critical bits and bodies. Seeded with real messages from strongSwan
// (tests/fuzz/seeds/ike_message/).
// fuzz-sources: ctrl/ike/message.cc ctrl/ike/payloads.cc
// fuzz-libs: -lfmt
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ctrl/ike/message.h"
#include "ctrl/ike/payloads.h"

using namespace meshplane::ctrl::ike;

namespace {

void read_typed(const Payload& p) {
  std::string error;
  std::vector<Proposal> proposals;
  std::vector<TrafficSelector> selectors;
  switch (static_cast<PayloadType>(p.type)) {
    case PayloadType::kSa:
      if (read_sa(p.body, proposals, error) && proposals.size() > kMaxProposals) __builtin_trap();
      break;
    case PayloadType::kKe: (void)read_ke(p.body, error); break;
    case PayloadType::kNotify:
      if (auto n = read_notify(p.body, error); n && n->spi.size() + n->data.size() + 4 != p.body.size())
        __builtin_trap();
      break;
    case PayloadType::kIdi:
    case PayloadType::kIdr: (void)read_id(p.body, error); break;
    case PayloadType::kAuth: (void)read_auth(p.body, error); break;
    case PayloadType::kCert: (void)read_cert(p.body, error); break;
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      if (read_ts(p.body, selectors, error) && (selectors.empty() || selectors.size() > kMaxSelectors))
        __builtin_trap();
      break;
    case PayloadType::kDelete:
      if (auto d = read_delete(p.body, error); d && d->spis.size() > kMaxDeleteSpis) __builtin_trap();
      break;
    default: break;
  }
}

// Writes `payloads` (after `h`, or as a bare chain) and checks they read back the same.
void round_trip(const Header* h, const std::vector<Payload>& payloads) {
  MessageWriter w = h ? MessageWriter(*h) : MessageWriter();
  for (const auto& p : payloads) {
    w.begin(static_cast<PayloadType>(p.type), p.critical);
    w.bytes(p.body);
  }
  if (!payloads.empty() && (payloads.back().type == static_cast<uint8_t>(PayloadType::kSk) ||
                            payloads.back().type == static_cast<uint8_t>(PayloadType::kSkf)))
    w.next_is(payloads.back().next);
  const uint8_t first = w.first_type();
  const std::vector<uint8_t> bytes = w.finish();
  std::vector<Payload> again;
  if (h) {
    const ParseResult r = parse(bytes);
    if (!r.message) __builtin_trap();
    again = r.message->payloads;
  } else {
    ParseError e;
    uint8_t critical = 0;
    if (!parse_chain(bytes, first, again, e, critical)) __builtin_trap();
  }
  if (again.size() != payloads.size()) __builtin_trap();
  for (size_t i = 0; i < again.size(); ++i)
    if (again[i].type != payloads[i].type || again[i].critical != payloads[i].critical ||
        again[i].body.size() != payloads[i].body.size() ||
        std::memcmp(again[i].body.data(), payloads[i].body.data(), again[i].body.size()) != 0)
      __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ParseResult r = parse({data, size});
  if (!r.message) return 0;
  for (const auto& p : r.message->payloads) read_typed(p);
  round_trip(&r.message->header, r.message->payloads);
  const Payload& last = r.message->payloads.empty() ? Payload{} : r.message->payloads.back();
  if (last.type == static_cast<uint8_t>(PayloadType::kSk)) {
    std::vector<Payload> inner;
    ParseError e;
    uint8_t critical = 0;
    if (parse_chain(last.body, last.next, inner, e, critical)) {
      for (const auto& p : inner) {
        if (p.type == static_cast<uint8_t>(PayloadType::kSk)) __builtin_trap();  // never nested
        read_typed(p);
      }
      if (!inner.empty()) round_trip(nullptr, inner);
    }
  }
  return 0;
}
