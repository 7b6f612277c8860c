// ARP packets (RFC 826) for Ethernet/IPv4: parsing, in-place replies, requests.
// The control thread runs the neighbour logic; these are its packet tools.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

struct rte_mempool;

namespace meshplane::dataplane {

struct ArpMessage {
  uint16_t op;  // RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY
  rte_ether_addr sender_mac;
  uint32_t sender_ip;  // host order
  rte_ether_addr target_mac;
  uint32_t target_ip;
};

// Nothing when the frame is not a well-formed Ethernet/IPv4 ARP request or reply.
std::optional<ArpMessage> arp_parse(const rte_mbuf* m);

// Rewrites a request for `our_ip` into the reply, addressed to its sender.
void arp_make_reply(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip);

// A request for `target_ip`, broadcast unless `unicast_to` is given (reachability
// probes). target_ip == our_ip makes it a gratuitous ARP (RFC 5227 announcement).
rte_mbuf* arp_build_request(rte_mempool* pool, const rte_ether_addr& our_mac, uint32_t our_ip, uint32_t target_ip,
                            const rte_ether_addr* unicast_to = nullptr);

}  // namespace meshplane::dataplane
