#include "ctrl/runtime/sa_table.h"

#include <algorithm>

namespace meshplane::ctrl {
namespace {

constexpr uint64_t kLast32 = 0xffffffffu;

}  // namespace

SaTable::SaTable(uint32_t max_sas, SequenceStore* store)
    : states_(new dataplane::SaState[max_sas]), installed_(max_sas), max_sas_(max_sas), store_(store) {}

double SaTable::age_seconds(uint32_t slot) const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - installed_[slot]).count();
}

config::Status SaTable::extend(const Outbound& o, uint64_t from) {
  const uint64_t limit = o.esn ? from + kReserve : std::min(from + kReserve, kLast32);
  if (store_)
    if (auto s = store_->reserve(o.spi, o.key, limit); !s.ok()) return s;
  states_[o.slot].seq_limit.store(limit, std::memory_order_release);
  return {};
}

config::Status SaTable::prepare(const config::Policy& policy, const SaRegistry& registry) {
  std::vector<Outbound> outbound;
  for (const auto& peer : policy.peers)
    for (const auto& sa : peer.sas) {
      const uint32_t slot = registry.slot(peer, sa);
      const bool fresh = std::find(registry.fresh().begin(), registry.fresh().end(), slot) != registry.fresh().end();
      dataplane::SaState& state = states_[slot];
      if (fresh) installed_[slot] = std::chrono::steady_clock::now();
      if (sa.direction == config::SaDirection::kInbound) {
        if (fresh) state.window = dataplane::ReplayWindow(sa.replay_window);
        continue;
      }
      outbound.push_back({slot, sa.spi, sa.key, sa.esn});
      if (!fresh) continue;
      const uint64_t start = store_ ? store_->reserved(sa.spi, sa.key) : 0;
      state.last_seq.store(start, std::memory_order_relaxed);
      state.seq_limit.store(start, std::memory_order_relaxed);  // nothing usable until reserved
      if (auto s = extend(outbound.back(), start); !s.ok()) return s;
    }
  outbound_ = std::move(outbound);
  return {};
}

config::Status SaTable::refresh() {
  for (const auto& o : outbound_) {
    const dataplane::SaState& state = states_[o.slot];
    const uint64_t used = state.last_seq.load(std::memory_order_relaxed);
    const uint64_t limit = state.seq_limit.load(std::memory_order_relaxed);
    if (limit - std::min(used, limit) > kReserve / 2 || (!o.esn && limit >= kLast32)) continue;
    if (auto s = extend(o, limit); !s.ok()) return s;
  }
  return {};
}

}  // namespace meshplane::ctrl
