// IKEv2 messages (RFC 7296 section 3): the fixed header and the chain of
// generic payloads, read from a datagram without copying (payload bodies are
// spans into it) and written by MessageWriter. Typed payload contents are in
// ctrl/ike/payloads.h. Everything read comes from the network: every length
// is checked against what encloses it, and counts are bounded, so a message
// costs at most kMaxPayloads entries however it is built.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace meshplane::ctrl::ike {

enum class Exchange : uint8_t { kIkeSaInit = 34, kIkeAuth = 35, kCreateChildSa = 36, kInformational = 37 };

enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,  // RFC 7383 fragment (recognised, not reassembled)
};

inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;
inline constexpr uint8_t kVersion = 0x20;  // major 2, minor 0

inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kPayloadHeaderSize = 4;
inline constexpr size_t kMaxMessage = 65535;  // the header's length field is 32 bits; UDP bounds it
inline constexpr size_t kMaxPayloads = 64;    // a real IKE_AUTH carries about 12

struct Header {
  uint64_t spi_i = 0;  // as on the wire (big-endian bytes read into host order)
  uint64_t spi_r = 0;
  uint8_t first_payload = 0;
  uint8_t version = kVersion;
  Exchange exchange = Exchange::kIkeSaInit;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;
  bool response() const { return flags & kFlagResponse; }
  bool from_initiator() const { return flags & kFlagInitiator; }
};

struct Payload {
  uint8_t type;  // a PayloadType, or a type this implementation does not know (not critical)
  uint8_t next;  // its next-payload field: for an SK payload, the type of the first payload inside
  bool critical;
  std::span<const uint8_t> body;  // after the 4-byte generic header
};

struct Message {
  Header header;
  std::vector<Payload> payloads;  // in order; an SK payload is the last
  const Payload* find(PayloadType t) const;
};

// Why a message was refused: drop it (most reasons) or, inside an
// authenticated exchange, answer with the notify RFC 7296 names.
enum class ParseError : uint8_t {
  kTruncated,            // shorter than its header or a length says
  kBadLength,            // the header's length is not the datagram's, or a payload length is below 4
  kBadVersion,           // major version is not 2 (INVALID_MAJOR_VERSION)
  kTooManyPayloads,
  kCriticalUnsupported,  // an unknown payload with the critical bit (UNSUPPORTED_CRITICAL_PAYLOAD)
  kMisplacedSk,          // an SK payload that is not the last, or one inside an SK payload
};
const char* to_string(ParseError e);

// The first payload of type `t` in a chain (an SK payload's inner ones too); null when there is none.
const Payload* find_payload(const std::vector<Payload>& payloads, PayloadType t);

// Network byte order, as IKE writes SPIs and numbers: the low `n` bytes of `v`, and back.
std::vector<uint8_t> be_bytes(uint64_t v, size_t n);
uint64_t be_value(std::span<const uint8_t> bytes);

struct ParseResult {
  std::optional<Message> message;
  ParseError error = ParseError::kTruncated;
  uint8_t critical_type = 0;  // kCriticalUnsupported: the payload type
};

// A whole datagram (UDP 500, or 4500 after the non-ESP marker is removed).
ParseResult parse(std::span<const uint8_t> datagram);

// The chain of payloads inside a decrypted SK payload, the first of type
// `first`; false with `error` set when it does not hold together.
bool parse_chain(std::span<const uint8_t> bytes, uint8_t first, std::vector<Payload>& out, ParseError& error,
                 uint8_t& critical_type);

// Builds a message: begin() a payload, append its body, end() it; the
// next-payload fields and lengths are filled in as payloads follow.
class MessageWriter {
 public:
  explicit MessageWriter(const Header& h);
  // A chain of payloads without a header (the plaintext of an SK payload).
  MessageWriter();

  void begin(PayloadType type, bool critical = false);
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void end();
  // Sets the last payload's next-payload field (an SK payload names the first payload inside it).
  void next_is(uint8_t type);
  // The type of the chain's first payload (for an SK payload's next-payload field).
  uint8_t first_type() const { return first_type_; }
  // The message, its header's length set.
  std::vector<uint8_t> finish();

 private:
  std::vector<uint8_t> out_;
  size_t next_field_;  // where the next payload's type goes: the header's, then each payload's
  size_t open_ = 0;    // the payload being written: its start
  bool in_payload_ = false;
  bool has_header_;
  uint8_t first_type_ = 0;
};

}  // namespace meshplane::ctrl::ike
