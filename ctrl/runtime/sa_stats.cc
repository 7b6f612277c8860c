#include <fmt/format.h>

#include "ctrl/runtime/stats.h"

namespace meshplane::ctrl {

void add_sas(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.sa_registry || !src.peers) return;
  const uint32_t max = src.sa_registry->max_sas();
  for (const auto& peer : *src.peers)
    for (const auto& sa : peer.sas) {
      const uint32_t slot = src.sa_registry->slot(peer, sa);
      const dataplane::SaState& state = src.sa_table->state(slot);
      const bool in = sa.direction == config::SaDirection::kInbound;
      auto* s = out.add_sas();
      s->set_peer(peer.name);
      s->set_direction(in ? "inbound" : "outbound");
      s->set_spi(fmt::format("0x{:x}", sa.spi));
      s->set_algorithm(sa.algorithm == config::EspAlgorithm::kAesGcm128 ? "aes-gcm-128" : "aes-gcm-256");
      s->set_esn(sa.esn);
      s->set_encapsulation(peer.encapsulation == config::Encapsulation::kUdp ? "udp" : "esp");
      if (in) {
        s->set_sequence(state.window.top());  // read while a worker may write: a monitoring value
        s->set_replay_window(sa.replay_window);
      } else {
        s->set_sequence(state.last_seq.load(std::memory_order_relaxed));
        s->set_sequence_limit(state.seq_limit.load(std::memory_order_relaxed));
      }
      s->set_age_seconds(src.sa_table->age_seconds(slot));
      s->set_lifetime(src.sa_table->lifetime_state(slot));
      s->set_keying(sa.negotiated ? "ike" : "manual");
      s->set_identity(peer.identity);
      auto& counters = *s->mutable_counters();
      for (const auto& c : dataplane::kSaCounters) {
        uint64_t n = 0;
        for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += (src.sa_counters[w * max + slot].*c.member).get();
        counters[c.name] = n;
      }
    }
}

}  // namespace meshplane::ctrl
