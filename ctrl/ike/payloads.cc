#include "ctrl/ike/payloads.h"

#include <fmt/format.h>

namespace meshplane::ctrl::ike {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Reads one transform substructure of `length` bytes at `p`.
bool read_transform(const uint8_t* p, uint16_t length, Transform& t, std::string& error) {
  t.type = static_cast<TransformType>(p[4]);
  t.id = be16(p + 6);
  size_t at = 8;
  while (at < length) {
    if (length - at < 4) {
      error = "transform attribute truncated";
      return false;
    }
    const uint16_t af_type = be16(p + at);
    const bool tv = af_type & 0x8000;
    const uint16_t type = af_type & 0x7fff;
    if (tv) {
      if (type == kAttributeKeyLength)
        t.key_bits = be16(p + at + 2);
      else
        t.unknown_attribute = true;
      at += 4;
    } else {
      const size_t value = be16(p + at + 2);
      if (value > length - at - 4) {
        error = "transform attribute longer than its transform";
        return false;
      }
      t.unknown_attribute = true;  // no variable-length attribute is defined for IKEv2 transforms
      at += 4 + value;
    }
  }
  return true;
}

bool read_proposal(std::span<const uint8_t> body, size_t& at, bool& last, Proposal& out, std::string& error) {
  const uint8_t* p = body.data() + at;
  if (body.size() - at < 8) {
    error = "proposal truncated";
    return false;
  }
  const uint16_t length = be16(p + 2);
  if (length < 8 || length > body.size() - at) {
    error = fmt::format("proposal length {} does not fit", length);
    return false;
  }
  if (p[0] != 0 && p[0] != 2) {
    error = fmt::format("proposal substructure type {}", p[0]);
    return false;
  }
  last = p[0] == 0;
  out.number = p[4];
  out.protocol = static_cast<Protocol>(p[5]);
  const uint8_t spi_size = p[6];
  const uint8_t count = p[7];
  if (count > kMaxTransforms) {
    error = fmt::format("{} transforms in a proposal (at most {})", count, kMaxTransforms);
    return false;
  }
  if (8u + spi_size > length) {
    error = "proposal SPI longer than its proposal";
    return false;
  }
  out.spi.assign(p + 8, p + 8 + spi_size);
  size_t t_at = 8u + spi_size;
  bool t_last = false;
  for (uint8_t i = 0; i < count; ++i) {
    if (t_last || length - t_at < 8) {
      error = "fewer transforms than the proposal says";
      return false;
    }
    const uint8_t* t = p + t_at;
    const uint16_t t_length = be16(t + 2);
    if (t_length < 8 || t_length > length - t_at || (t[0] != 0 && t[0] != 3)) {
      error = "transform length or substructure type is wrong";
      return false;
    }
    t_last = t[0] == 0;
    Transform tr{};
    if (!read_transform(t, t_length, tr, error)) return false;
    out.transforms.push_back(tr);
    t_at += t_length;
  }
  if (t_at != length || (count && !t_last)) {
    error = "transforms do not fill their proposal";
    return false;
  }
  at += length;
  return true;
}

template <typename T>
std::optional<T> fail(std::string& error, std::string what) {
  error = std::move(what);
  return std::nullopt;
}

}  // namespace

bool read_sa(std::span<const uint8_t> body, std::vector<Proposal>& out, std::string& error) {
  out.clear();
  size_t at = 0;
  bool last = false;
  while (!last) {
    if (out.size() == kMaxProposals) {
      error = fmt::format("more than {} proposals", kMaxProposals);
      return false;
    }
    Proposal p;
    if (!read_proposal(body, at, last, p, error)) return false;
    out.push_back(std::move(p));
  }
  if (at != body.size()) {
    error = "bytes after the last proposal";
    return false;
  }
  return true;
}

std::optional<KeyExchange> read_ke(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 4) return fail<KeyExchange>(error, "KE payload truncated");
  return KeyExchange{be16(body.data()), body.subspan(4)};
}

std::optional<Notify> read_notify(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 4) return fail<Notify>(error, "notify payload truncated");
  const uint8_t spi_size = body[1];
  if (body.size() - 4 < spi_size) return fail<Notify>(error, "notify SPI longer than its payload");
  return Notify{body[0], be16(body.data() + 2), body.subspan(4, spi_size), body.subspan(4u + spi_size)};
}

std::optional<Identification> read_id(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 5) return fail<Identification>(error, "identification payload truncated");
  return Identification{body[0], body.subspan(4)};
}

std::optional<Auth> read_auth(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 5) return fail<Auth>(error, "authentication payload truncated");
  return Auth{body[0], body.subspan(4)};
}

std::optional<Cert> read_cert(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 2) return fail<Cert>(error, "certificate payload truncated");
  return Cert{body[0], body.subspan(1)};
}

bool read_ts(std::span<const uint8_t> body, std::vector<TrafficSelector>& out, std::string& error) {
  out.clear();
  if (body.size() < 4) {
    error = "traffic selector payload truncated";
    return false;
  }
  const uint8_t count = body[0];
  if (count == 0 || count > kMaxSelectors) {
    error = fmt::format("{} traffic selectors (1 to {})", count, kMaxSelectors);
    return false;
  }
  size_t at = 4;
  for (uint8_t i = 0; i < count; ++i) {
    if (body.size() - at < 8) {
      error = "traffic selector truncated";
      return false;
    }
    const uint8_t* p = body.data() + at;
    TrafficSelector ts;
    ts.type = p[0];
    ts.protocol = p[1];
    const uint16_t length = be16(p + 2);
    if (ts.type != kTsIpv4Range && ts.type != kTsIpv6Range) {
      error = fmt::format("traffic selector type {}", ts.type);
      return false;
    }
    const size_t a = ts.address_size();
    if (length != 8 + 2 * a || length > body.size() - at) {
      error = fmt::format("traffic selector length {}", length);
      return false;
    }
    ts.start_port = be16(p + 4);
    ts.end_port = be16(p + 6);
    std::copy(p + 8, p + 8 + a, ts.start.begin());
    std::copy(p + 8 + a, p + 8 + 2 * a, ts.end.begin());
    out.push_back(ts);
    at += length;
  }
  if (at != body.size()) {
    error = "bytes after the last traffic selector";
    return false;
  }
  return true;
}

std::optional<Delete> read_delete(std::span<const uint8_t> body, std::string& error) {
  if (body.size() < 4) return fail<Delete>(error, "delete payload truncated");
  Delete d{static_cast<Protocol>(body[0]), {}};
  const uint8_t spi_size = body[1];
  const uint16_t count = be16(body.data() + 2);
  if (count > kMaxDeleteSpis) return fail<Delete>(error, fmt::format("{} SPIs to delete (at most {})", count, kMaxDeleteSpis));
  if (d.protocol == Protocol::kIke ? spi_size != 0 || count != 0 : spi_size != 4)
    return fail<Delete>(error, fmt::format("delete of protocol {} with {}-byte SPIs", body[0], spi_size));
  if (body.size() - 4 != size_t{spi_size} * count) return fail<Delete>(error, "delete payload length is not its SPIs'");
  for (uint16_t i = 0; i < count; ++i) d.spis.push_back(body.subspan(4 + size_t{i} * spi_size, spi_size));
  return d;
}

void write_sa(MessageWriter& w, const std::vector<Proposal>& proposals) {
  w.begin(PayloadType::kSa);
  for (size_t i = 0; i < proposals.size(); ++i) {
    const Proposal& p = proposals[i];
    size_t length = 8 + p.spi.size();
    for (const auto& t : p.transforms) length += t.key_bits ? 12 : 8;
    w.u8(i + 1 == proposals.size() ? 0 : 2);
    w.u8(0);
    w.u16(static_cast<uint16_t>(length));
    w.u8(p.number);
    w.u8(static_cast<uint8_t>(p.protocol));
    w.u8(static_cast<uint8_t>(p.spi.size()));
    w.u8(static_cast<uint8_t>(p.transforms.size()));
    w.bytes(p.spi);
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      w.u8(j + 1 == p.transforms.size() ? 0 : 3);
      w.u8(0);
      w.u16(t.key_bits ? 12 : 8);
      w.u8(static_cast<uint8_t>(t.type));
      w.u8(0);
      w.u16(t.id);
      if (t.key_bits) {
        w.u16(0x8000 | kAttributeKeyLength);
        w.u16(t.key_bits);
      }
    }
  }
  w.end();
}

void write_ke(MessageWriter& w, uint16_t group, std::span<const uint8_t> data) {
  w.begin(PayloadType::kKe);
  w.u16(group);
  w.u16(0);
  w.bytes(data);
  w.end();
}

void write_nonce(MessageWriter& w, std::span<const uint8_t> nonce) {
  w.begin(PayloadType::kNonce);
  w.bytes(nonce);
  w.end();
}

void write_notify(MessageWriter& w, uint16_t type, std::span<const uint8_t> data, uint8_t protocol,
                  std::span<const uint8_t> spi) {
  w.begin(PayloadType::kNotify);
  w.u8(protocol);
  w.u8(static_cast<uint8_t>(spi.size()));
  w.u16(type);
  w.bytes(spi);
  w.bytes(data);
  w.end();
}

std::vector<uint8_t> id_body(IdType type, std::string_view data) {
  std::vector<uint8_t> body(4 + data.size());
  body[0] = static_cast<uint8_t>(type);
  std::copy(data.begin(), data.end(), body.begin() + 4);
  return body;
}

void write_id(MessageWriter& w, PayloadType which, std::span<const uint8_t> body) {
  w.begin(which);
  w.bytes(body);
  w.end();
}

std::optional<Notify> find_notify(const std::vector<Payload>& payloads, NotifyType type) {
  std::string error;
  for (const auto& p : payloads)
    if (p.type == static_cast<uint8_t>(PayloadType::kNotify))
      if (auto n = read_notify(p.body, error); n && n->type == static_cast<uint16_t>(type)) return n;
  return std::nullopt;
}

std::optional<uint16_t> find_error_notify(const std::vector<Payload>& payloads) {
  std::string error;
  for (const auto& p : payloads)
    if (p.type == static_cast<uint8_t>(PayloadType::kNotify))
      if (auto n = read_notify(p.body, error); n && n->error()) return n->type;
  return std::nullopt;
}

void write_auth(MessageWriter& w, uint8_t method, std::span<const uint8_t> data) {
  w.begin(PayloadType::kAuth);
  w.u8(method);
  w.u8(0);
  w.u16(0);
  w.bytes(data);
  w.end();
}

void write_cert(MessageWriter& w, std::span<const uint8_t> der) {
  w.begin(PayloadType::kCert);
  w.u8(kCertX509Signature);
  w.bytes(der);
  w.end();
}

void write_ts(MessageWriter& w, PayloadType which, const std::vector<TrafficSelector>& selectors) {
  w.begin(which);
  w.u8(static_cast<uint8_t>(selectors.size()));
  w.u8(0);
  w.u16(0);
  for (const auto& ts : selectors) {
    const size_t a = ts.address_size();
    w.u8(ts.type);
    w.u8(ts.protocol);
    w.u16(static_cast<uint16_t>(8 + 2 * a));
    w.u16(ts.start_port);
    w.u16(ts.end_port);
    w.bytes(std::span(ts.start.data(), a));
    w.bytes(std::span(ts.end.data(), a));
  }
  w.end();
}

void write_delete(MessageWriter& w, Protocol protocol, const std::vector<std::vector<uint8_t>>& spis) {
  w.begin(PayloadType::kDelete);
  w.u8(static_cast<uint8_t>(protocol));
  w.u8(protocol == Protocol::kIke ? 0 : 4);
  w.u16(static_cast<uint16_t>(spis.size()));
  for (const auto& spi : spis) w.bytes(spi);
  w.end();
}

}  // namespace meshplane::ctrl::ike
