// The contents of IKEv2 payloads (RFC 7296 section 3.3-3.15), read from a
// payload body (ctrl/ike/message.h) and written into a MessageWriter. Reads
// check every length and bound every count; addresses in traffic selectors
// are 4 or 16 bytes (IPv4 and IPv6 ranges), so IPv6 needs no new format.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctrl/ike/message.h"

namespace meshplane::ctrl::ike {

// Transform types and the IDs this implementation offers or accepts (IANA "IKEv2 Parameters").
enum class TransformType : uint8_t { kEncr = 1, kPrf = 2, kInteg = 3, kDh = 4, kEsn = 5 };
inline constexpr uint16_t kEncrAesGcm16 = 20;   // RFC 4106/5282, 16-byte ICV
inline constexpr uint16_t kPrfHmacSha256 = 5;
inline constexpr uint16_t kPrfHmacSha384 = 6;
inline constexpr uint16_t kPrfHmacSha512 = 7;
inline constexpr uint16_t kDhP256 = 19;
inline constexpr uint16_t kDhCurve25519 = 31;
inline constexpr uint16_t kEsnNone = 0;
inline constexpr uint16_t kEsnUsed = 1;
inline constexpr uint16_t kAttributeKeyLength = 14;

enum class Protocol : uint8_t { kIke = 1, kAh = 2, kEsp = 3 };

inline constexpr size_t kMaxProposals = 16;
inline constexpr size_t kMaxTransforms = 32;   // per proposal
inline constexpr size_t kMaxSelectors = 16;    // per TS payload
inline constexpr size_t kMaxDeleteSpis = 64;

struct Transform {
  TransformType type;
  uint16_t id;
  uint16_t key_bits = 0;  // the key length attribute, when present
  bool unknown_attribute = false;  // it carries an attribute not understood: never selected (RFC 7296 3.3.6)
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;
  Protocol protocol = Protocol::kIke;
  std::vector<uint8_t> spi;  // empty (IKE_SA_INIT), 8 bytes (IKE rekey) or 4 (ESP)
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct KeyExchange {
  uint16_t group;
  std::span<const uint8_t> data;
};

// Notify message types used here (RFC 7296 section 3.10.1, RFC 7383, RFC 4555).
enum class NotifyType : uint16_t {
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kInternalAddressFailure = 36,
  kFailedCpRequired = 37,
  kTsUnacceptable = 38,
  kInvalidSelectors = 39,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,
  kInitialContact = 16384,
  kSetWindowSize = 16385,
  kAdditionalTsPossible = 16386,
  kIpcompSupported = 16387,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kNonFirstFragmentsAlso = 16395,
  kFragmentationSupported = 16430,
  kSignatureHashAlgorithms = 16431,
};

struct Notify {
  uint8_t protocol = 0;  // 0: about the IKE SA (or none)
  uint16_t type = 0;     // a NotifyType or another; types below 16384 are errors
  std::span<const uint8_t> spi;
  std::span<const uint8_t> data;
  bool error() const { return type < 16384; }
};

// Identification types (RFC 7296 section 3.5).
enum class IdType : uint8_t { kIpv4 = 1, kFqdn = 2, kRfc822 = 3, kIpv6 = 5, kDerAsn1Dn = 9, kKeyId = 11 };

struct Identification {
  uint8_t type;
  std::span<const uint8_t> data;
};

// Authentication methods (RFC 7296 section 3.8, RFC 7427).
inline constexpr uint8_t kAuthRsa = 1;
inline constexpr uint8_t kAuthPsk = 2;
inline constexpr uint8_t kAuthDigitalSignature = 14;

struct Auth {
  uint8_t method;
  std::span<const uint8_t> data;
};

inline constexpr uint8_t kCertX509Signature = 4;

struct Cert {
  uint8_t encoding;
  std::span<const uint8_t> data;
};

inline constexpr uint8_t kTsIpv4Range = 7;
inline constexpr uint8_t kTsIpv6Range = 8;

struct TrafficSelector {
  uint8_t type = kTsIpv4Range;
  uint8_t protocol = 0;  // 0: any
  uint16_t start_port = 0, end_port = 65535;
  std::array<uint8_t, 16> start{}, end{};  // the first 4 bytes for IPv4
  size_t address_size() const { return type == kTsIpv4Range ? 4 : 16; }
  bool operator==(const TrafficSelector&) const = default;
};

struct Delete {
  Protocol protocol;
  std::vector<std::span<const uint8_t>> spis;  // none for the IKE SA itself
};

// Each read returns nullopt (or false) with `error` saying what is wrong.
bool read_sa(std::span<const uint8_t> body, std::vector<Proposal>& out, std::string& error);
std::optional<KeyExchange> read_ke(std::span<const uint8_t> body, std::string& error);
std::optional<Notify> read_notify(std::span<const uint8_t> body, std::string& error);
std::optional<Identification> read_id(std::span<const uint8_t> body, std::string& error);
std::optional<Auth> read_auth(std::span<const uint8_t> body, std::string& error);
std::optional<Cert> read_cert(std::span<const uint8_t> body, std::string& error);
bool read_ts(std::span<const uint8_t> body, std::vector<TrafficSelector>& out, std::string& error);
std::optional<Delete> read_delete(std::span<const uint8_t> body, std::string& error);

void write_sa(MessageWriter& w, const std::vector<Proposal>& proposals);
void write_ke(MessageWriter& w, uint16_t group, std::span<const uint8_t> data);
void write_nonce(MessageWriter& w, std::span<const uint8_t> nonce);
void write_notify(MessageWriter& w, uint16_t type, std::span<const uint8_t> data = {}, uint8_t protocol = 0,
                  std::span<const uint8_t> spi = {});
// An ID payload's body (type, 3 reserved bytes, data): what it carries, and what AUTH covers.
std::vector<uint8_t> id_body(IdType type, std::string_view data);
void write_id(MessageWriter& w, PayloadType which, std::span<const uint8_t> body);
// The first notify of `type` among `payloads` that reads.
std::optional<Notify> find_notify(const std::vector<Payload>& payloads, NotifyType type);
// The type of the first error notify (below 16384) among `payloads` that reads.
std::optional<uint16_t> find_error_notify(const std::vector<Payload>& payloads);
void write_auth(MessageWriter& w, uint8_t method, std::span<const uint8_t> data);
void write_cert(MessageWriter& w, std::span<const uint8_t> der);
void write_ts(MessageWriter& w, PayloadType which, const std::vector<TrafficSelector>& selectors);
void write_delete(MessageWriter& w, Protocol protocol, const std::vector<std::vector<uint8_t>>& spis);

}  // namespace meshplane::ctrl::ike
