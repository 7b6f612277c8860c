#include "dataplane/ipsec/esp.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace meshplane::dataplane {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

// RFC 4106 section 5: SPI || sequence (8 bytes), or SPI || high || low with ESN (12).
uint32_t write_aad(uint8_t* aad, uint32_t spi, uint64_t seq, bool esn) {
  std::memcpy(aad, &spi, 4);
  const rte_be32_t high = rte_cpu_to_be_32(static_cast<uint32_t>(seq >> 32));
  const rte_be32_t low = rte_cpu_to_be_32(static_cast<uint32_t>(seq));
  if (!esn) {
    std::memcpy(aad + 4, &low, 4);
    return 8;
  }
  std::memcpy(aad + 4, &high, 4);
  std::memcpy(aad + 8, &low, 4);
  return 12;
}

}  // namespace

DropReason esp_seal(GcmEngine& gcm, const EspSeal& p, rte_mbuf* m) {
  if (m->nb_segs != 1 || m->data_len < kEthLen + kOuterIpv4Len) return DropReason::kEspNoRoom;
  const uint32_t inner_len = m->data_len - kEthLen;
  const uint32_t pad = (4 - (inner_len + 2) % 4) % 4;
  const uint32_t tail = pad + 2 + kGcmIcvLen;
  const uint32_t head = kOuterIpv4Len + (p.udp ? kUdpHeaderLen : 0) + kEspHeaderLen + kGcmIvLen;
  if (rte_pktmbuf_tailroom(m) < tail || rte_pktmbuf_headroom(m) < head) return DropReason::kEspNoRoom;

  const auto* inner = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  const uint8_t tos = inner->type_of_service;
  const rte_be16_t df = inner->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG);

  // Trailer: padding 1, 2, 3... (RFC 4303 section 2.4), its length, the next header.
  auto* t = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(tail)));
  for (uint32_t i = 0; i < pad; ++i) t[i] = static_cast<uint8_t>(i + 1);
  t[pad] = static_cast<uint8_t>(pad);
  t[pad + 1] = kNextHeaderIpv4;
  uint8_t* icv = t + pad + 2;

  rte_ether_hdr eth;
  std::memcpy(&eth, rte_pktmbuf_mtod(m, void*), kEthLen);
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(head)));
  std::memcpy(frame, &eth, kEthLen);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + kEthLen);
  uint8_t* esp = reinterpret_cast<uint8_t*>(ip) + kOuterIpv4Len;
  const uint32_t outer_len = head + inner_len + tail;
  if (p.udp) {
    auto* udp = reinterpret_cast<rte_udp_hdr*>(esp);
    udp->src_port = RTE_BE16(kIkeNattPort);
    udp->dst_port = p.dst_port;
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(outer_len - kOuterIpv4Len));
    udp->dgram_cksum = 0;  // RFC 3948 section 2.1: zero for ESP in UDP over IPv4
    esp += kUdpHeaderLen;
  }
  std::memcpy(esp, &p.spi, 4);
  const rte_be32_t low = rte_cpu_to_be_32(static_cast<uint32_t>(p.seq));
  std::memcpy(esp + 4, &low, 4);
  const rte_be64_t iv = rte_cpu_to_be_64(p.seq);
  std::memcpy(esp + kEspHeaderLen, &iv, kGcmIvLen);

  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = tos;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(outer_len));
  ip->packet_id = rte_cpu_to_be_16(p.ip_id);
  ip->fragment_offset = df;
  ip->time_to_live = 64;
  ip->next_proto_id = p.udp ? uint8_t{IPPROTO_UDP} : kIpProtoEsp;
  ip->src_addr = p.src;
  ip->dst_addr = p.dst;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);

  uint8_t aad[12];
  const uint32_t aad_len = write_aad(aad, p.spi, p.seq, p.esn);
  gcm.seal(*p.key, esp + kEspHeaderLen, aad, aad_len, esp + kEspHeaderLen + kGcmIvLen, inner_len + pad + 2, icv);
  m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
  return DropReason::kCount;
}

DropReason esp_open(GcmEngine& gcm, const GcmKey& key, const EspFrame& f, uint64_t seq, bool esn, rte_mbuf* m) {
  if (m->nb_segs != 1 || f.esp_offset > m->data_len) return DropReason::kEspMalformed;
  const uint32_t esp_len = m->data_len - f.esp_offset;
  const uint32_t fixed = kEspHeaderLen + kGcmIvLen + kGcmIcvLen;
  if (esp_len < fixed + 2 || (esp_len - kEspHeaderLen - kGcmIvLen - kGcmIcvLen) % 4 != 0)
    return DropReason::kEspMalformed;
  uint8_t* esp = rte_pktmbuf_mtod_offset(m, uint8_t*, f.esp_offset);
  uint8_t* data = esp + kEspHeaderLen + kGcmIvLen;
  const uint32_t data_len = esp_len - fixed;
  uint8_t aad[12];
  const uint32_t aad_len = write_aad(aad, f.spi, seq, esn);
  if (!gcm.open(key, esp + kEspHeaderLen, aad, aad_len, data, data_len, data + data_len))
    return DropReason::kEspAuthFailed;

  const uint8_t pad = data[data_len - 2];
  const uint8_t next = data[data_len - 1];
  if (pad + 2u > data_len) return DropReason::kEspMalformed;
  if (next != kNextHeaderIpv4) return DropReason::kEspNotIpv4;

  // [eth][outer...][esp][iv][inner][trailer][icv] -> [eth][inner]
  rte_pktmbuf_trim(m, static_cast<uint16_t>(pad + 2 + kGcmIcvLen));
  const uint32_t cut = f.esp_offset + kEspHeaderLen + kGcmIvLen - kEthLen;
  std::memmove(rte_pktmbuf_mtod_offset(m, uint8_t*, cut), rte_pktmbuf_mtod(m, uint8_t*), kEthLen);
  rte_pktmbuf_adj(m, static_cast<uint16_t>(cut));
  // The outer header's receive checksum flags say nothing about the inner one.
  m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  return DropReason::kCount;
}

}  // namespace meshplane::dataplane
