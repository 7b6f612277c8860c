#include "ctrl/ike/message.h"

namespace meshplane::ctrl::ike {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }

bool known(uint8_t type) {
  return (type >= static_cast<uint8_t>(PayloadType::kSa) && type <= static_cast<uint8_t>(PayloadType::kEap)) ||
         type == static_cast<uint8_t>(PayloadType::kSkf);
}

}  // namespace

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kTruncated: return "truncated";
    case ParseError::kBadLength: return "bad length";
    case ParseError::kBadVersion: return "not IKE version 2";
    case ParseError::kTooManyPayloads: return "too many payloads";
    case ParseError::kCriticalUnsupported: return "unsupported critical payload";
    case ParseError::kMisplacedSk: return "misplaced encrypted payload";
  }
  return "?";
}

const Payload* find_payload(const std::vector<Payload>& payloads, PayloadType t) {
  for (const auto& p : payloads)
    if (p.type == static_cast<uint8_t>(t)) return &p;
  return nullptr;
}

const Payload* Message::find(PayloadType t) const { return find_payload(payloads, t); }

std::vector<uint8_t> be_bytes(uint64_t v, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
  return out;
}

uint64_t be_value(std::span<const uint8_t> bytes) {
  uint64_t v = 0;
  for (uint8_t b : bytes) v = v << 8 | b;
  return v;
}

namespace {

// `outer`: the message's own chain, which may end with an SK payload; an SK
// payload's plaintext may not hold another.
bool chain(std::span<const uint8_t> bytes, uint8_t first, bool outer, std::vector<Payload>& out, ParseError& error,
           uint8_t& critical_type) {
  size_t at = 0;
  uint8_t type = first;
  while (type != static_cast<uint8_t>(PayloadType::kNone)) {
    if (out.size() == kMaxPayloads) {
      error = ParseError::kTooManyPayloads;
      return false;
    }
    if (bytes.size() - at < kPayloadHeaderSize) {
      error = ParseError::kTruncated;
      return false;
    }
    const uint8_t* p = bytes.data() + at;
    const uint16_t length = be16(p + 2);
    if (length < kPayloadHeaderSize) {
      error = ParseError::kBadLength;
      return false;
    }
    if (length > bytes.size() - at) {
      error = ParseError::kTruncated;
      return false;
    }
    const bool critical = p[1] & 0x80;
    if (!known(type) && critical) {
      error = ParseError::kCriticalUnsupported;
      critical_type = type;
      return false;
    }
    out.push_back({type, p[0], critical, bytes.subspan(at + kPayloadHeaderSize, length - kPayloadHeaderSize)});
    at += length;
    // The SK payload's next-payload field names the first payload inside it, so it ends the chain.
    if (type == static_cast<uint8_t>(PayloadType::kSk) || type == static_cast<uint8_t>(PayloadType::kSkf)) {
      if (!outer || at != bytes.size()) {
        error = ParseError::kMisplacedSk;
        return false;
      }
      return true;
    }
    type = p[0];
  }
  if (at != bytes.size()) {
    error = ParseError::kBadLength;  // bytes after the last payload
    return false;
  }
  return true;
}

}  // namespace

bool parse_chain(std::span<const uint8_t> bytes, uint8_t first, std::vector<Payload>& out, ParseError& error,
                 uint8_t& critical_type) {
  out.clear();
  return chain(bytes, first, false, out, error, critical_type);
}

ParseResult parse(std::span<const uint8_t> datagram) {
  ParseResult r;
  if (datagram.size() < kHeaderSize) return r;
  const uint8_t* d = datagram.data();
  Message m;
  m.header.spi_i = be64(d);
  m.header.spi_r = be64(d + 8);
  m.header.first_payload = d[16];
  m.header.version = d[17];
  m.header.exchange = static_cast<Exchange>(d[18]);
  m.header.flags = d[19];
  m.header.message_id = be32(d + 20);
  m.header.length = be32(d + 24);
  if ((m.header.version >> 4) != 2) {
    r.error = ParseError::kBadVersion;
    return r;
  }
  if (m.header.length != datagram.size() || datagram.size() > kMaxMessage) {
    r.error = m.header.length > datagram.size() ? ParseError::kTruncated : ParseError::kBadLength;
    return r;
  }
  if (!chain(datagram.subspan(kHeaderSize), m.header.first_payload, true, m.payloads, r.error, r.critical_type))
    return r;
  r.message = std::move(m);
  return r;
}

MessageWriter::MessageWriter(const Header& h) : next_field_(16), has_header_(true) {
  out_.reserve(512);
  u64(h.spi_i);
  u64(h.spi_r);
  u8(0);  // first payload: set by begin()
  u8(h.version);
  u8(static_cast<uint8_t>(h.exchange));
  u8(h.flags);
  u32(h.message_id);
  u32(0);  // length: set by finish()
}

MessageWriter::MessageWriter() : next_field_(SIZE_MAX), has_header_(false) {}

void MessageWriter::u16(uint16_t v) {
  out_.push_back(static_cast<uint8_t>(v >> 8));
  out_.push_back(static_cast<uint8_t>(v));
}

void MessageWriter::u32(uint32_t v) {
  u16(static_cast<uint16_t>(v >> 16));
  u16(static_cast<uint16_t>(v));
}

void MessageWriter::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  u32(static_cast<uint32_t>(v));
}

void MessageWriter::begin(PayloadType type, bool critical) {
  if (in_payload_) end();
  const auto t = static_cast<uint8_t>(type);
  if (next_field_ == SIZE_MAX)
    first_type_ = t;
  else
    out_[next_field_] = t;
  open_ = out_.size();
  next_field_ = open_;
  u8(0);
  u8(critical ? 0x80 : 0);
  u16(0);
  in_payload_ = true;
}

void MessageWriter::next_is(uint8_t type) {
  if (next_field_ != SIZE_MAX) out_[next_field_] = type;
}

void MessageWriter::end() {
  if (!in_payload_) return;
  const size_t length = out_.size() - open_;
  out_[open_ + 2] = static_cast<uint8_t>(length >> 8);
  out_[open_ + 3] = static_cast<uint8_t>(length);
  in_payload_ = false;
}

std::vector<uint8_t> MessageWriter::finish() {
  end();
  if (has_header_) {
    const auto length = static_cast<uint32_t>(out_.size());
    for (int i = 0; i < 4; ++i) out_[24 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  }
  return std::move(out_);
}

}  // namespace meshplane::ctrl::ike
