#include "ctrl/runtime/sa_table.h"

#include <fmt/format.h>

#include <algorithm>

namespace meshplane::ctrl {
namespace {

constexpr uint64_t kLast32 = 0xffffffffu;

}  // namespace

SaTable::SaTable(uint32_t max_sas, SequenceStore* store)
    : states_(new dataplane::SaState[max_sas]), installed_(max_sas), max_sas_(max_sas), store_(store),
      first_seq_(max_sas, 0), lifetime_reached_(max_sas, 0) {}

double SaTable::age_seconds(uint32_t slot) const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - installed_[slot]).count();
}

config::Status SaTable::extend(const Outbound& o, uint64_t from) {
  if (!o.persisted) {
    states_[o.slot].seq_limit.store(o.last_allowed, std::memory_order_release);
    return {};
  }
  const uint64_t limit = std::min(from + kReserve, o.last_allowed);
  if (store_)
    if (auto s = store_->reserve(o.spi, o.key, limit); !s.ok()) return s;
  states_[o.slot].seq_limit.store(limit, std::memory_order_release);
  return {};
}

config::Status SaTable::prepare(const config::Policy& policy, const SaRegistry& registry) {
  std::vector<Outbound> outbound;
  std::vector<Tracked> tracked;
  for (const auto& peer : policy.peers)
    for (const auto& sa : peer.sas) {
      const uint32_t slot = registry.slot(peer, sa);
      const bool fresh = std::find(registry.fresh().begin(), registry.fresh().end(), slot) != registry.fresh().end();
      const bool in = sa.direction == config::SaDirection::kInbound;
      dataplane::SaState& state = states_[slot];
      if (fresh) {
        installed_[slot] = std::chrono::steady_clock::now();
        lifetime_reached_[slot] = 0;
      }
      if (sa.soft.any() || sa.hard.any())
        tracked.push_back({slot, fmt::format("peer '{}' {} SPI 0x{:x}", peer.name, in ? "inbound" : "outbound", sa.spi),
                           !in, sa.soft, sa.hard});
      if (in) {
        if (fresh) {
          state.window = dataplane::ReplayWindow(sa.replay_window);
          state.expired.store(false, std::memory_order_relaxed);
        }
        continue;
      }
      if (fresh) {
        first_seq_[slot] = store_ && !sa.negotiated ? store_->reserved(sa.spi, sa.key) : 0;
        state.last_seq.store(first_seq_[slot], std::memory_order_relaxed);
        state.seq_limit.store(first_seq_[slot], std::memory_order_relaxed);  // nothing usable until reserved
      }
      // The last usable number: the counter's end, the hard packet lifetime (counted from the SA's first
      // number, so a changed lifetime applies at once), or nothing once a hard lifetime was reached.
      uint64_t last = sa.esn ? ~uint64_t{0} : kLast32;
      if (sa.hard.packets) last = std::min(last, first_seq_[slot] + sa.hard.packets);
      if (lifetime_reached_[slot] == 2) last = 0;
      outbound.push_back({slot, sa.spi, sa.key, sa.esn, last, !sa.negotiated});
      if (fresh) {
        if (auto s = extend(outbound.back(), first_seq_[slot]); !s.ok()) return s;
      } else if (state.seq_limit.load(std::memory_order_relaxed) > last) {
        state.seq_limit.store(last, std::memory_order_release);  // a lowered lifetime (raised: refresh() extends)
      }
    }
  outbound_ = std::move(outbound);
  tracked_ = std::move(tracked);
  return {};
}

std::vector<SaTable::LifetimeEvent> SaTable::check_lifetimes(const std::function<Usage(uint32_t slot)>& usage) {
  std::vector<LifetimeEvent> events;
  for (const auto& t : tracked_) {
    uint8_t& reached = lifetime_reached_[t.slot];
    if (reached == 2) continue;
    const Usage u = usage(t.slot);
    const double age = age_seconds(t.slot);
    auto over = [&](const config::SaLifetime& l) -> const char* {
      if (l.seconds && age >= static_cast<double>(l.seconds)) return "seconds";
      if (l.bytes && u.bytes >= l.bytes) return "bytes";
      if (l.packets && u.packets >= l.packets) return "packets";
      return nullptr;
    };
    if (const char* what = over(t.hard)) {
      reached = 2;
      dataplane::SaState& state = states_[t.slot];
      if (t.outbound) {
        auto o = std::find_if(outbound_.begin(), outbound_.end(), [&](auto& x) { return x.slot == t.slot; });
        if (o != outbound_.end()) o->last_allowed = 0;  // refresh() never extends it again
        state.seq_limit.store(0, std::memory_order_release);
      } else {
        state.expired.store(true, std::memory_order_release);
      }
      events.push_back({"sa_hard_lifetime", fmt::format("{}: hard lifetime ({}) reached, the SA stopped", t.name, what)});
    } else if (reached == 0) {
      if (const char* soft = over(t.soft)) {
        reached = 1;
        events.push_back({"sa_soft_lifetime", fmt::format("{}: soft lifetime ({}) reached, rekey", t.name, soft)});
      }
    }
  }
  return events;
}

const char* SaTable::lifetime_state(uint32_t slot) const {
  return lifetime_reached_[slot] == 2 ? "hard" : lifetime_reached_[slot] == 1 ? "soft" : "";
}

config::Status SaTable::refresh() {
  for (const auto& o : outbound_) {
    const dataplane::SaState& state = states_[o.slot];
    const uint64_t used = state.last_seq.load(std::memory_order_relaxed);
    const uint64_t limit = state.seq_limit.load(std::memory_order_relaxed);
    if (limit - std::min(used, limit) > kReserve / 2 || limit >= o.last_allowed) continue;
    if (auto s = extend(o, limit); !s.ok()) return s;
  }
  return {};
}

}  // namespace meshplane::ctrl
