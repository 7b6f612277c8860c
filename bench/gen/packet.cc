#include "bench/gen/packet.h"

#include <arpa/inet.h>

#include <cstring>

namespace meshplane::gen {
namespace {

uint32_t sum16(const uint8_t* p, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
void put32(uint8_t* p, uint32_t v) { put16(p, v >> 16), put16(p + 2, v & 0xffff); }

}  // namespace

size_t build_packet(uint8_t* buf, size_t frame_len, const FlowSpec& spec, uint32_t flow, uint64_t sequence,
                    uint64_t tx_tsc, uint8_t tcp_flags, uint32_t tcp_seq) {
  const bool tcp = spec.proto == 6;
  if (frame_len < (tcp ? kMinTcpFrame : kMinUdpFrame) || frame_len > 9000) return 0;
  const size_t l4_len = frame_len - 14 - 20;
  const size_t l4_header = tcp ? 20 : 8;
  std::memset(buf, 0, frame_len);
  std::memcpy(buf, spec.dst_mac, 6);
  std::memcpy(buf + 6, spec.src_mac, 6);
  put16(buf + 12, 0x0800);

  uint8_t* ip = buf + 14;
  const uint32_t f = spec.flows ? flow % spec.flows : 0;
  const uint32_t src = spec.src_ip + f / spec.ports_per_ip;
  const uint16_t sport = static_cast<uint16_t>(spec.src_port + f % spec.ports_per_ip);
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(20 + l4_len));
  put16(ip + 4, static_cast<uint16_t>(sequence));
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = spec.proto;
  put32(ip + 12, src);
  put32(ip + 16, spec.dst_ip);
  put16(ip + 10, fold(sum16(ip, 20)));

  uint8_t* l4 = ip + 20;
  put16(l4, sport);
  put16(l4 + 2, spec.dst_port);
  if (tcp) {
    put32(l4 + 4, tcp_seq);
    put32(l4 + 8, 1);
    l4[12] = 5 << 4;
    l4[13] = tcp_flags;
    put16(l4 + 14, 65535);
  } else {
    put16(l4 + 4, static_cast<uint16_t>(l4_len));
  }
  Stamp stamp{tx_tsc, static_cast<uint32_t>(sequence), kMagic};
  std::memcpy(l4 + l4_header, &stamp, sizeof stamp);

  // Pseudo-header + L4, as RFC 768 / 793 define it.
  uint8_t pseudo[12];
  std::memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0, pseudo[9] = spec.proto;
  put16(pseudo + 10, static_cast<uint16_t>(l4_len));
  uint16_t ck = fold(sum16(l4, l4_len, sum16(pseudo, 12)));
  if (!tcp && ck == 0) ck = 0xffff;
  put16(l4 + (tcp ? 16 : 6), ck);
  return frame_len;
}

bool read_stamp(const uint8_t* buf, size_t len, Stamp& out) {
  if (len < 14 + 20 || buf[12] != 0x08 || buf[13] != 0x00) return false;
  size_t ip = 14;
  if (buf[ip + 9] == 4) ip += (buf[ip] & 0xf) * 4u;  // IP-in-IP: look inside
  if (len < ip + 20) return false;
  const size_t ihl = (buf[ip] & 0xf) * 4u;
  const uint8_t proto = buf[ip + 9];
  const size_t l4_header = proto == 6 ? 20 : proto == 17 ? 8 : 0;
  if (!l4_header || len < ip + ihl + l4_header + sizeof(Stamp)) return false;
  std::memcpy(&out, buf + ip + ihl + l4_header, sizeof out);
  return out.magic == kMagic;
}

}  // namespace meshplane::gen
